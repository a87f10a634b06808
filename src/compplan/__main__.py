"""``python -m compplan``: the command line."""

import sys

from compplan.cli import main

sys.exit(main())
