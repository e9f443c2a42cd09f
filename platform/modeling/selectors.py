"""Reads of the model registry."""

from django.db.models import QuerySet

from .models import ModelVersion, PromotionDecision, RetrainRun


def production_version() -> ModelVersion | None:
    """The version in production: the candidate of the latest decision that promoted one."""
    decision = (
        PromotionDecision.objects.filter(promoted=True)
        .select_related("candidate")
        .order_by("-id")
        .first()
    )
    return decision.candidate if decision else None


def model_version_list() -> QuerySet[ModelVersion]:
    return ModelVersion.objects.select_related("decision").order_by("-id")


def retrain_run_get(*, run_id: int) -> RetrainRun | None:
    return RetrainRun.objects.prefetch_related("candidates").filter(pk=run_id).first()
