import sys

from nodebio.cli import entry

sys.exit(entry())
