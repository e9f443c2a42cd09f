from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.authtoken.views import ObtainAuthToken

from . import views

urlpatterns = [
    path("auth/token", ObtainAuthToken.as_view(), name="auth-token"),
    path("me", views.MeApi.as_view(), name="me"),
    path(
        "members/<int:member_id>/homepage",
        views.MemberHomepageApi.as_view(),
        name="member-homepage",
    ),
    path("members/<int:member_id>/plays", views.MemberPlayListApi.as_view(), name="member-plays"),
    path("events", views.EventCreateApi.as_view(), name="events"),
    path("titles", views.TitleListApi.as_view(), name="title-list"),
    path("titles/<int:title_id>", views.TitleDetailApi.as_view(), name="title-detail"),
    path("search", views.TitleSearchApi.as_view(), name="search"),
    path("models", views.ModelListApi.as_view(), name="model-list"),
    path("models/retrain", views.ModelRetrainApi.as_view(), name="model-retrain"),
    path("models/retrain/<int:run_id>", views.RetrainRunDetailApi.as_view(), name="retrain-run"),
    # profiles and My List
    path("members", views.MemberCreateApi.as_view(), name="member-create"),
    path("members/<int:member_id>", views.MemberDetailApi.as_view(), name="member-detail"),
    path("members/<int:member_id>/my-list", views.MemberMyListApi.as_view(), name="my-list"),
    path(
        "members/<int:member_id>/my-list/<int:title_id>",
        views.MemberMyListItemApi.as_view(),
        name="my-list-item",
    ),
    # the lab (staff only)
    path("lab/models", views.LabModelListApi.as_view(), name="lab-models"),
    path("lab/health", views.LabHealthApi.as_view(), name="lab-health"),
    path("lab/clicks", views.LabClickThroughApi.as_view(), name="lab-clicks"),
    path("lab/retrain/<int:run_id>", views.LabRetrainDetailApi.as_view(), name="lab-retrain"),
    path("lab/traffic", views.LabTrafficApi.as_view(), name="lab-traffic"),
    path(
        "lab/traffic/<int:run_id>/stop", views.LabTrafficStopApi.as_view(), name="lab-traffic-stop"
    ),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
]
