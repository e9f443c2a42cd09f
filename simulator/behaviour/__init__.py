"""How members react to homepages (moving into a package; see simulator/behaviour/respond.py)."""

from simulator.behaviour.respond import *  # noqa: F403
