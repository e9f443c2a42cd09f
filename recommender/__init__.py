"""Recommender models behind the homepage: torch, numpy and the standard library only.

Import the public API from here: ``from recommender import load_model, Interactions``.
Importing the package defines (and so registers) every model in :data:`MODELS`.
"""

from recommender.base import MODELS, CheckpointError, History, Recommender, load_model
from recommender.data import Interactions, InteractionsFileError, time_split
from recommender.ease import EASEConfig, EASERecommender
from recommender.metadata import ItemMetadata, ItemMetadataFileError
from recommender.metrics import evaluate
from recommender.mf import MFConfig, MFRecommender
from recommender.popularity import PopularityConfig, PopularityRecommender
from recommender.sasrec import SASRecConfig, SASRecRecommender

__all__ = [
    "MODELS",
    "CheckpointError",
    "EASEConfig",
    "EASERecommender",
    "History",
    "Interactions",
    "InteractionsFileError",
    "ItemMetadata",
    "ItemMetadataFileError",
    "MFConfig",
    "MFRecommender",
    "PopularityConfig",
    "PopularityRecommender",
    "Recommender",
    "SASRecConfig",
    "SASRecRecommender",
    "evaluate",
    "load_model",
    "time_split",
]
