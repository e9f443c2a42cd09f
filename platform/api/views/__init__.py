"""API v1: one view per operation, each calling one service or selector, grouped by what
they serve. Each module nests its views' Input and Output serializers."""

from .auth import TokenCreateApi
from .catalog import TitleDetailApi, TitleListApi, TitleSearchApi, TitleSimilarApi
from .events import EventCreateApi, MemberPlayListApi
from .experiments import (
    ExperimentDetailApi,
    ExperimentListApi,
    ExperimentReadoutsApi,
    ExperimentStartApi,
    ExperimentStopApi,
)
from .exploration import (
    ExplorationUpdateApi,
    ExplorationUpdateDetailApi,
    ExplorerConfigDetailApi,
    ExplorerConfigListApi,
)
from .homepage import MemberHomepageApi
from .lab import (
    LabClickThroughApi,
    LabExplorerApi,
    LabHealthApi,
    LabMemberSimilarApi,
    LabModelListApi,
    LabRetrainDetailApi,
    LabTrafficApi,
    LabTrafficStopApi,
)
from .members import MeApi
from .models import ModelDetailApi, ModelListApi, ModelRetrainApi, RetrainRunDetailApi
from .mylist import MemberMyListApi, MemberMyListItemApi
from .profiles import MemberCreateApi, MemberDetailApi

__all__ = [
    "EventCreateApi",
    "ExperimentDetailApi",
    "ExperimentListApi",
    "ExperimentReadoutsApi",
    "ExperimentStartApi",
    "ExperimentStopApi",
    "ExplorationUpdateApi",
    "ExplorationUpdateDetailApi",
    "ExplorerConfigDetailApi",
    "ExplorerConfigListApi",
    "LabClickThroughApi",
    "LabExplorerApi",
    "LabHealthApi",
    "LabMemberSimilarApi",
    "LabModelListApi",
    "LabRetrainDetailApi",
    "LabTrafficApi",
    "LabTrafficStopApi",
    "MeApi",
    "MemberCreateApi",
    "MemberDetailApi",
    "MemberHomepageApi",
    "MemberMyListApi",
    "MemberMyListItemApi",
    "MemberPlayListApi",
    "ModelDetailApi",
    "ModelListApi",
    "ModelRetrainApi",
    "RetrainRunDetailApi",
    "TitleDetailApi",
    "TitleListApi",
    "TitleSearchApi",
    "TitleSimilarApi",
    "TokenCreateApi",
]
