"""Which experiments and arms serve a member's page.

Every page asks once (`assignments_for`): one cheap query (the experiments' newest change
and count; the homepage reads it with the other serving stamps in one) tells whether this process's copy of the running experiments, with their arms
and model versions, is still current; only when something changed (an experiment created,
started, stopped, or a canary's share moved) are they read again. A member's arm is then a
hash of their id and the experiment's salt (rollouts.analysis): no row per member.

A member in no running experiment of a surface sees production on it.
"""

import threading
from dataclasses import dataclass

from django.db import connection
from django.db.models import Prefetch

from . import analysis
from .models import Arm, Experiment


@dataclass(frozen=True)
class ServedArm:
    """The arm of one running experiment that serves a member."""

    experiment_id: int
    experiment_name: str
    surface: str
    arm_id: int
    arm: str
    model_version: object | None  # model surface: the arm's ModelVersion; None: production's
    explorer: dict  # explorer surfaces: the arm's config; empty: production's


@dataclass(frozen=True)
class RunningExperiment:
    experiment: Experiment
    arms: tuple[Arm, ...]

    def arm_for(self, member_id: int) -> Arm | None:
        name = analysis.assigned_arm(self.experiment, self.arms, member_id)
        return next((arm for arm in self.arms if arm.name == name), None)


_lock = threading.Lock()
_cache: tuple[tuple, list[RunningExperiment]] | None = None


def reset_cache() -> None:
    global _cache
    with _lock:
        _cache = None


def experiments_stamp_sql() -> tuple[str, int]:
    """A query of one row, the experiments' newest change and their number, and its number
    of columns: `running_experiments`' change check."""
    quote = connection.ops.quote_name
    table = quote(Experiment._meta.db_table)
    return f"SELECT MAX({quote('updated_at')}), COUNT(*) FROM {table}", 2


def running_experiments(*, stamp: tuple | None = None) -> list[RunningExperiment]:
    """The running experiments, oldest first. One query when nothing changed, none when the
    caller read the stamp (`experiments_stamp_sql`) already."""
    global _cache
    if stamp is None:
        with connection.cursor() as cursor:
            cursor.execute(experiments_stamp_sql()[0])
            stamp = tuple(cursor.fetchone())
    key = stamp
    with _lock:
        if _cache is not None and _cache[0] == key:
            return _cache[1]
    arms = Arm.objects.select_related("model_version").order_by("id")
    running = [
        RunningExperiment(experiment, tuple(experiment.arms.all()))
        for experiment in Experiment.objects.filter(status=Experiment.Status.RUNNING)
        .prefetch_related(Prefetch("arms", queryset=arms))
        .order_by("id")
    ]
    with _lock:
        _cache = (key, running)
    return running


def assignments_for(*, member_id: int, stamp: tuple | None = None) -> dict[str, ServedArm]:
    """The arm serving `member_id` on each surface that has a running experiment they are in
    (no entry: production). At most one experiment runs per surface (the services refuse a
    second); were there two, the older one would serve. `stamp`: as `running_experiments`."""
    served: dict[str, ServedArm] = {}
    for running in running_experiments(stamp=stamp):
        experiment = running.experiment
        if experiment.surface in served:
            continue
        arm = running.arm_for(member_id)
        if arm is None:
            continue
        served[experiment.surface] = ServedArm(
            experiment_id=experiment.pk,
            experiment_name=experiment.name,
            surface=experiment.surface,
            arm_id=arm.pk,
            arm=arm.name,
            model_version=arm.model_version,
            explorer=arm.explorer or {},
        )
    return served


def page_experiments(assigned: dict[str, ServedArm]) -> dict[str, str]:
    """What a page records of its experiments: experiment id (a string key) -> arm name."""
    return {str(s.experiment_id): s.arm for s in assigned.values()}
