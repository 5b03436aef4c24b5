"""``python -m tinygrad_gd`` runs the command line."""

import sys

from tinygrad_gd.cli import main

if __name__ == "__main__":
    sys.exit(main())
