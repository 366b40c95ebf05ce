"""``python -m clv_core``: the headless command line (see :mod:`clv_core.cli`)."""

import sys

from clv_core.cli import main

sys.exit(main())
