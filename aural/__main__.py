"""`python -m aural` runs the `aural` command."""

import sys

from aural.cli import main

if __name__ == "__main__":
    sys.exit(main())
