from django.contrib import admin

from .models import ModelVersion, PromotionDecision, RetrainRun


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "created_at", "trained_as_of", "n_train_events"]
    list_filter = ["kind"]

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(PromotionDecision)
class PromotionDecisionAdmin(admin.ModelAdmin):
    list_display = ["candidate", "baseline", "promoted", "metric", "candidate_value", "decided_at"]
    list_filter = ["promoted"]

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(RetrainRun)
class RetrainRunAdmin(admin.ModelAdmin):
    list_display = ["id", "status", "trigger", "requested_at", "finished_at", "promoted"]
    list_filter = ["status", "trigger"]
