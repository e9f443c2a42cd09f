"""API v1: one view per operation, each calling one service or selector, grouped by what
they serve. Each module nests its views' Input and Output serializers."""

from .auth import TokenCreateApi
from .catalog import TitleDetailApi, TitleListApi, TitleSearchApi
from .events import EventCreateApi, MemberPlayListApi
from .homepage import MemberHomepageApi
from .members import MeApi
from .models import ModelListApi, ModelRetrainApi, RetrainRunDetailApi

__all__ = [
    "EventCreateApi",
    "MeApi",
    "MemberHomepageApi",
    "MemberPlayListApi",
    "ModelListApi",
    "ModelRetrainApi",
    "RetrainRunDetailApi",
    "TitleDetailApi",
    "TitleListApi",
    "TitleSearchApi",
    "TokenCreateApi",
]
