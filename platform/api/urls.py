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
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
]
