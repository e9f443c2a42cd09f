"""Reads of the model registry."""

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


def serving_version_for(*, member) -> ModelVersion | None:
    """The model version that serves `member`'s pages: production for every member today.
    This is the one place that answers it, so online experiments can answer it per arm."""
    return production_version()


def model_version_list() -> list[ModelVersion]:
    """Every version, newest first, each with its gate decision and `is_production` set."""
    production = production_version()
    versions = list(ModelVersion.objects.select_related("decision").order_by("-id"))
    for version in versions:
        version.is_production = production is not None and version.pk == production.pk
    return versions


def retrain_run_get(*, run_id: int) -> RetrainRun | None:
    return RetrainRun.objects.prefetch_related("candidates").filter(pk=run_id).first()


def gate_decisions(*, version: ModelVersion) -> list[PromotionDecision]:
    """The promotion gate's decisions on every candidate of the retrain that registered
    `version`, in the order the gate judged them (candidates with them): the evidence for
    why this version serves rather than another. One query."""
    if version.run_id is None:  # registered outside a retrain run (by hand, in a test)
        return list(PromotionDecision.objects.filter(candidate=version).select_related("candidate"))
    return list(
        PromotionDecision.objects.filter(candidate__run_id=version.run_id)
        .select_related("candidate")
        .order_by("id")
    )
