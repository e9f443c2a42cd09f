from django.contrib import admin

from .models import TrafficRun


@admin.register(TrafficRun)
class TrafficRunAdmin(admin.ModelAdmin):
    """Read-only: runs are started and stopped from the lab, which keeps their state right."""

    list_display = ["id", "status", "members", "rate", "visits", "plays", "requested_at"]
    list_filter = ["status"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
