"""``python -m helpers.run``: the batch runner's command line (see :mod:`helpers.run.cli`)."""

import sys

from helpers.run.cli import main

sys.exit(main())
