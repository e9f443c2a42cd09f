"""Entry point of ``python -m simulator.client`` (see :mod:`simulator.client.cli`)."""

import sys

from simulator.client.cli import main

sys.exit(main())
