"""Admin of the explorer: configs are edited here (checked by ExplorerConfig.clean, which
builds the policy: a bad value is a form error and nothing is saved); states and runs are
read-only records."""

from django.contrib import admin

from events.admin import ReadOnlyAdmin

from .models import BanditState, ExplorerConfig, UpdateRun, Watermark


@admin.register(ExplorerConfig)
class ExplorerConfigAdmin(admin.ModelAdmin):
    list_display = ["use", "enabled", "policy", "rate", "floor", "positions", "updated_at"]


@admin.register(BanditState)
class BanditStateAdmin(ReadOnlyAdmin):
    list_display = ["use", "version", "policy", "counted", "watermark", "run", "created_at"]
    list_filter = ["use"]
    exclude = ["state"]


@admin.register(UpdateRun)
class UpdateRunAdmin(ReadOnlyAdmin):
    list_display = ["id", "trigger", "status", "requested_at", "finished_at", "error"]
    list_filter = ["status"]


@admin.register(Watermark)
class WatermarkAdmin(ReadOnlyAdmin):
    list_display = ["use", "impression_id", "updated_at"]
