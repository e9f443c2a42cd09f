"""A synthetic world of titles and members (moving into a package; see simulator/world/world.py)."""

from simulator.world.world import *  # noqa: F403
from simulator.world.world import main
