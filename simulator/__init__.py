"""Simulated members with hidden tastes who use the platform like people do.

Importing the package registers the Gymnasium environment ``simulator/Homepage-v0``
(:class:`simulator.env.HomepageEnv`). Registration names the entry point as a string, so
importing the package stays cheap and ``python -m simulator.world`` runs without importing
its own module twice.
"""

import gymnasium

HOMEPAGE_ENV_ID = "simulator/Homepage-v0"

if HOMEPAGE_ENV_ID not in gymnasium.registry:
    gymnasium.register(id=HOMEPAGE_ENV_ID, entry_point="simulator.env:HomepageEnv")
