"""Drive simulated members through the platform's HTTP API (moving into a package)."""

from simulator.client.traffic import *  # noqa: F403
from simulator.client.traffic import main
