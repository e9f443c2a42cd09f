"""Model versions to put in experiments: fitted on the fact log and registered, as a retrain
would (without the gate), so pages can be served by each."""

import uuid
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from modeling import training
from modeling.dataset import plays_as_of
from modeling.models import ModelVersion
from modeling.services import canary_conclude, promotion_decide
from rollouts.models import Experiment


def register(kind: str) -> ModelVersion:
    data = training.to_interactions(plays_as_of(at=timezone.now()))
    model = training.candidate_fit(kind, data, seed=0)
    folder = f"{kind}-{uuid.uuid4().hex[:8]}"
    training.checkpoint_save(model, Path(settings.MODEL_DIR) / folder)
    return ModelVersion.objects.create(
        kind=kind,
        checkpoint=folder,
        trained_as_of=timezone.now(),
        n_train_events=len(data),
        config=training.recipe(kind),
    )


def first_production(kind: str = "popularity") -> ModelVersion:
    """A version promoted as the first model is: directly, nothing in production."""
    version = register(kind)
    decision = promotion_decide(
        candidate=version, candidate_value=0.1, baseline=None, baseline_value=None
    )
    assert decision.promoted
    return version


def gate_canary(run) -> Experiment:
    """The canary experiment the gate started for a retrain run."""
    return Experiment.objects.get(source="gate", gate__run=run.pk)


def ship(experiment: Experiment):
    """Record the canary's ship as its step would (rollouts.services), without the weeks of
    traffic: for tests of what follows a production change, not of the canary itself."""
    arms = {arm.name: arm.model_version for arm in experiment.arms.all()}
    return canary_conclude(
        candidate=arms["candidate"],
        control=arms["control"],
        shipped=True,
        reason=f"canary experiment {experiment.pk} ({experiment.name}) shipped (test)",
    )
