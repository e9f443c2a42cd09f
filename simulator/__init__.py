"""Simulated members with hidden tastes who use the platform like people do.

Importing the package registers the Gymnasium environment ``simulator/Homepage-v3``
(:class:`simulator.env.HomepageEnv`; its Version History says what each version changed and
why the older versions are no longer registered). Registration names the entry point as a
string, so importing the package stays cheap and ``python -m simulator.world`` runs without
importing its own module twice.
"""

import gymnasium

HOMEPAGE_ENV_ID = "simulator/Homepage-v3"
"""The env's id; its version goes up whenever the env's dynamics change."""

if HOMEPAGE_ENV_ID not in gymnasium.registry:
    gymnasium.register(id=HOMEPAGE_ENV_ID, entry_point="simulator.env:HomepageEnv")
