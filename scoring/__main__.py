"""``python -m scoring``: the command line (see :mod:`scoring.cli`)."""

import sys

from scoring.cli import main

sys.exit(main())
