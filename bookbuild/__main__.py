"""``python -m bookbuild execute|html|prepare|environment-file|time|check-site|format``."""

import sys

from bookbuild.cli import main

sys.exit(main())
