from django.contrib import admin
from django.urls import include, path
from django.views.generic import TemplateView

urlpatterns = [
    path("", TemplateView.as_view(template_name="index.html"), name="home"),
    path("lab", TemplateView.as_view(template_name="lab.html"), name="lab"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("api.urls")),
]

# Errors outside a view's own handling (no URL matched, a crash) answer in JSON, like the API.
handler400 = "api.errors.bad_request"
handler403 = "api.errors.permission_denied"
handler404 = "api.errors.not_found"
handler500 = "api.errors.server_error"
