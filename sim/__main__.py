"""``python -m sim``: the command line, the same as ``python run.py`` and ``attention-market``."""

import sys

from sim.cli import main

if __name__ == "__main__":
    sys.exit(main())
