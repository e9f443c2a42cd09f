"""Admin of the online experiments: read-only records. An experiment is created, started
and stopped through the API (or the promotion gate), whose services check it; here it is
read, with its arms, readouts and decisions."""

from django.contrib import admin

from events.admin import ReadOnlyAdmin

from .models import Arm, Experiment, ExperimentDecision, Readout


class ArmInline(admin.TabularInline):
    model = Arm
    extra = 0
    can_delete = False
    fields = ["name", "share", "is_control", "model_version", "explorer"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Experiment)
class ExperimentAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "name",
        "surface",
        "kind",
        "status",
        "canary_share",
        "source",
        "started_at",
        "stopped_at",
    ]
    list_filter = ["status", "surface", "kind"]
    inlines = [ArmInline]


@admin.register(Arm)
class ArmAdmin(ReadOnlyAdmin):
    list_display = ["id", "experiment", "name", "share", "is_control", "model_version"]


@admin.register(Readout)
class ReadoutAdmin(ReadOnlyAdmin):
    list_display = ["experiment", "day", "arm", "share", "members", "srm_p", "sequential_p"]
    list_filter = ["experiment"]


@admin.register(ExperimentDecision)
class ExperimentDecisionAdmin(ReadOnlyAdmin):
    list_display = ["experiment", "action", "day", "share", "at", "reason"]
    list_filter = ["action"]
