"""``python -m scripts.bench`` (``make bench``): see :mod:`scripts.bench`."""

import sys

from scripts.bench.cli import main

if __name__ == "__main__":
    sys.exit(main())
