"""``python -m convtest``: run the conversation scripts (see ``convtest.cli``)."""

import sys

from convtest.cli import main

if __name__ == "__main__":
    sys.exit(main())
