"""Entry point of ``python -m simulator.world`` (see :mod:`simulator.world.cli`)."""

import sys

from simulator.world.cli import main

sys.exit(main())
