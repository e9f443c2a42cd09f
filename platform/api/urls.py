from django.urls import path, register_converter
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from . import views
from .views.validators import MAX_ID


class IdConverter:
    """A database id in a path: 1 to 2^63-1. A larger number matches no URL (a 404) instead of
    reaching the database, where it overflows the 64-bit key."""

    regex = "[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if not 1 <= number <= MAX_ID:
            raise ValueError(f"{value} is not a database id")
        return number

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(IdConverter, "id")

urlpatterns = [
    path("auth/token", views.TokenCreateApi.as_view(), name="auth-token"),
    path("me", views.MeApi.as_view(), name="me"),
    path(
        "members/<id:member_id>/homepage",
        views.MemberHomepageApi.as_view(),
        name="member-homepage",
    ),
    path("members/<id:member_id>/plays", views.MemberPlayListApi.as_view(), name="member-plays"),
    path("events", views.EventCreateApi.as_view(), name="events"),
    path("titles", views.TitleListApi.as_view(), name="title-list"),
    path("titles/<id:title_id>", views.TitleDetailApi.as_view(), name="title-detail"),
    path("titles/<id:title_id>/similar", views.TitleSimilarApi.as_view(), name="title-similar"),
    path("search", views.TitleSearchApi.as_view(), name="search"),
    path("models", views.ModelListApi.as_view(), name="model-list"),
    path("models/retrain", views.ModelRetrainApi.as_view(), name="model-retrain"),
    path("models/retrain/<id:run_id>", views.RetrainRunDetailApi.as_view(), name="retrain-run"),
    path("models/<id:version_id>", views.ModelDetailApi.as_view(), name="model-detail"),
    # profiles and My List
    path("members", views.MemberCreateApi.as_view(), name="member-create"),
    path("members/<id:member_id>", views.MemberDetailApi.as_view(), name="member-detail"),
    path("members/<id:member_id>/my-list", views.MemberMyListApi.as_view(), name="my-list"),
    path(
        "members/<id:member_id>/my-list/<id:title_id>",
        views.MemberMyListItemApi.as_view(),
        name="my-list-item",
    ),
    # the lab (staff only)
    path("lab/models", views.LabModelListApi.as_view(), name="lab-models"),
    path("lab/health", views.LabHealthApi.as_view(), name="lab-health"),
    path("lab/clicks", views.LabClickThroughApi.as_view(), name="lab-clicks"),
    path("lab/explorer", views.LabExplorerApi.as_view(), name="lab-explorer"),
    path("lab/retrain/<id:run_id>", views.LabRetrainDetailApi.as_view(), name="lab-retrain"),
    path(
        "lab/members/<id:member_id>/similar",
        views.LabMemberSimilarApi.as_view(),
        name="lab-member-similar",
    ),
    path("lab/traffic", views.LabTrafficApi.as_view(), name="lab-traffic"),
    path(
        "lab/traffic/<id:run_id>/stop", views.LabTrafficStopApi.as_view(), name="lab-traffic-stop"
    ),
    # the explorer (staff only)
    path("exploration/configs", views.ExplorerConfigListApi.as_view(), name="exploration-configs"),
    path(
        "exploration/configs/<str:use>",
        views.ExplorerConfigDetailApi.as_view(),
        name="exploration-config",
    ),
    path("exploration/updates", views.ExplorationUpdateApi.as_view(), name="exploration-updates"),
    path(
        "exploration/updates/<id:run_id>",
        views.ExplorationUpdateDetailApi.as_view(),
        name="exploration-update",
    ),
    # online experiments (staff only)
    path("experiments", views.ExperimentListApi.as_view(), name="experiments"),
    path("experiments/<id:experiment_id>", views.ExperimentDetailApi.as_view(), name="experiment"),
    path(
        "experiments/<id:experiment_id>/start",
        views.ExperimentStartApi.as_view(),
        name="experiment-start",
    ),
    path(
        "experiments/<id:experiment_id>/stop",
        views.ExperimentStopApi.as_view(),
        name="experiment-stop",
    ),
    path(
        "experiments/<id:experiment_id>/readouts",
        views.ExperimentReadoutsApi.as_view(),
        name="experiment-readouts",
    ),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
]
