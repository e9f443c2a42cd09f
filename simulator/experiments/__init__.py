"""Teaching experiments: the project's own policies run in-process against simulated members.

Each experiment runs policies over simulated days with the vectorized
:class:`~simulator.runner.PopulationRunner` and measures what a real service cannot see: true
satisfaction, retention, and how the recommender shapes what people watch. This is the only
part of simulator/ that may import recommender/ (through its public contract:
``MODELS[kind](config).fit(interactions, rng=...)``, ``model.score(user_ids)`` over
``model.item_ids``; and the explorer's bandits, ``recommender.bandits.make_policy``).

Run ``python -m simulator.experiments --help``; docs/simulator.md explains each figure; docs/exploration.md
the exploration and logging-policy ones.
"""
