import sys

from nodebio.cli import main

sys.exit(main())
