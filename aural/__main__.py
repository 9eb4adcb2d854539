"""`python -m aural` runs the `aural` command."""

import sys

from aural.cli import main

sys.exit(main())
