"""Admin for the fact log: read-only, because facts are append-only."""

from django.contrib import admin

from .models import Impression, Interaction, PageView


class ReadOnlyAdmin(admin.ModelAdmin):
    """An admin that shows records and changes none: the fact log's, and the other apps'
    immutable records (bandit states, update runs, experiments' readouts and decisions)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(PageView)
class PageViewAdmin(ReadOnlyAdmin):
    list_display = ["page_id", "member", "served_at", "model_version", "fallback"]
    list_filter = ["fallback"]


@admin.register(Impression)
class ImpressionAdmin(ReadOnlyAdmin):
    list_display = ["page", "member", "row_key", "position", "title", "policy", "propensity"]
    list_filter = ["row_key", "policy"]


@admin.register(Interaction)
class InteractionAdmin(ReadOnlyAdmin):
    list_display = ["event_id", "type", "member", "title", "watched_seconds", "occurred_at"]
    list_filter = ["type"]
