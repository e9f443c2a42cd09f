"""Recommender models behind the homepage: torch, numpy and the standard library only.

Import the public API from here: ``from recommender import load_model, Interactions``.
Importing the package defines (and so registers) every model in :data:`MODELS`.
"""

from recommender.base import MODELS, CheckpointError, Recommender, load_model
from recommender.data import Interactions, InteractionsFileError, time_split
from recommender.evaluate import evaluate
from recommender.mf import MFConfig, MFRecommender
from recommender.popularity import PopularityConfig, PopularityRecommender

__all__ = [
    "MODELS",
    "CheckpointError",
    "Interactions",
    "InteractionsFileError",
    "MFConfig",
    "MFRecommender",
    "PopularityConfig",
    "PopularityRecommender",
    "Recommender",
    "evaluate",
    "load_model",
    "time_split",
]
