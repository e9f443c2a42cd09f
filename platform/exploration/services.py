"""Writes of the explorer: its configuration, and learning from rewards (the update).

The update, exactly once:

- Each use keeps a `Watermark`: the id of the last impression its state has counted. An
  update locks the use's watermark row (SELECT ... FOR UPDATE; on SQLite the write
  transaction is taken up front, which serializes writers the same way) for the whole of
  its work, reads the impressions after it, learns, saves the next `BanditState` and moves
  the watermark, all in one transaction. A second run at the same time waits for the lock,
  then finds the watermark moved and counts only what came after: two workers, a rerun or a
  redelivered task never count an impression twice.
- The watermark moves only through impressions whose attribution window has closed
  (served at least EXPLORATION_ATTRIBUTION_SECONDS before the update's clock) and whose
  page was written more than EXPLORATION_COMMIT_GRACE_SECONDS ago by the wall clock (so a
  page still committing with smaller ids is never passed over); it stops before the first
  impression that is not yet final.
- Any error rolls the transaction back (no state, watermark unmoved) and is recorded on the
  run with its message: the previous state keeps serving and the next run tries again.

Rewards: an impression's reward is the largest watched fraction (0..1) of the plays of its
title by its member within the attribution window after it was served (0: not played).
Slots learn from their explored impressions, artwork from every impression with a drawn
variant, row order from each page's chosen rows (a row's reward: its best slot's).
"""

import logging
from collections import defaultdict
from datetime import datetime, timedelta

import numpy as np
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Min, Q
from django.utils import timezone

from events.models import SLOTS_PER_RECORD, Impression, Interaction, PageImpressions
from modeling.features import watched_fraction

from . import bandit
from .models import BanditState, ExplorerConfig, UpdateRun, Use, Watermark
from .rowkinds import ROW_KINDS, SOMETHING_DIFFERENT

logger = logging.getLogger(__name__)

SLOT_ROWS = ("top_picks", SOMETHING_DIFFERENT)
CONFIG_FIELDS = ("enabled", "policy", "rate", "floor", "positions", "params")


# --- configuration ---------------------------------------------------------------------------


def explorer_config_set(*, use: str, **fields) -> ExplorerConfig:
    """Create or change a use's config. The whole config is checked by building its policy
    (`ExplorerConfig.clean`); a bad one raises ValidationError naming the field, and nothing
    is saved."""
    if use not in Use.values:
        raise ValidationError({"use": f"Unknown use {use!r}; one of {', '.join(Use.values)}."})
    unknown = sorted(set(fields) - set(CONFIG_FIELDS))
    if unknown:
        raise ValidationError({name: "Not a field of an explorer config." for name in unknown})
    with transaction.atomic():
        config = ExplorerConfig.objects.select_for_update().filter(use=use).first()
        config = config or ExplorerConfig(use=use)
        for name, value in fields.items():
            setattr(config, name, value)
        config.full_clean()
        config.save()
    return config


DEFAULTS = {
    Use.SLOTS: {"policy": "epsilon_greedy", "rate": 0.1, "positions": 2},
    Use.ROW_ORDER: {"policy": "softmax", "rate": 0.1, "params": {"temperature": 1.0}},
    Use.ARTWORK: {"policy": "linucb", "rate": 0.1, "floor": 0.025, "params": {"alpha": 0.5}},
}
"""What `make demo` turns on, modestly: epsilon-greedy slots (10% of explored picks uniform),
the usual row order most of the time (softmax over the registry order: the first row keeps
its place on about 63% of pages), and LinUCB artwork that learns per member which variant
gets played, each variant kept at least 2.5% likely."""


def explorer_defaults_install(*, enabled: bool = True) -> list[ExplorerConfig]:
    """Give every use without a config the default one (DEFAULTS); existing ones are kept."""
    configs = []
    for use, fields in DEFAULTS.items():
        existing = ExplorerConfig.objects.filter(use=use).first()
        configs.append(existing or explorer_config_set(use=use, enabled=enabled, **fields))
    return configs


# --- the update ------------------------------------------------------------------------------


def update_run_create(*, trigger: str) -> UpdateRun:
    return UpdateRun.objects.create(trigger=trigger)


class UpdateNotQueued(Exception):
    """The broker could not take the update task; `run` is recorded as failed."""

    def __init__(self, run: UpdateRun):
        super().__init__(run.error)
        self.run = run


def update_request(*, trigger: str = "api") -> UpdateRun:
    """Record an update run and queue it now; if the broker is down, the run is recorded as
    failed with why and UpdateNotQueued raised."""
    from .tasks import BrokerUnavailable, update_enqueue

    run = update_run_create(trigger=trigger)
    try:
        update_enqueue(run_id=run.pk)
    except BrokerUnavailable as exc:
        run.status, run.finished_at = UpdateRun.Status.FAILED, timezone.now()
        run.error = f"{exc} Nothing was queued; try again when it is up."
        run.save(update_fields=["status", "finished_at", "error"])
        raise UpdateNotQueued(run) from exc
    return run


def update_execute(*, run_id: int, now: datetime | None = None) -> UpdateRun:
    """Run update `run_id` (module docstring). A run that already ended is left as it is (a
    redelivered task); one left running by a dead worker is run again (its transaction was
    rolled back with the worker's connection)."""
    run = UpdateRun.objects.get(pk=run_id)
    if run.status in (UpdateRun.Status.SUCCEEDED, UpdateRun.Status.FAILED):
        return run
    run.status, run.started_at = UpdateRun.Status.RUNNING, timezone.now()
    run.save(update_fields=["status", "started_at"])
    now = now or timezone.now()
    # The rows every update locks (the migration makes them; this puts back any removed).
    Watermark.objects.bulk_create([Watermark(use=use) for use in Use.values], ignore_conflicts=True)
    try:
        with transaction.atomic():
            counts = {
                config.use: _update_use(config, run=run, now=now)
                for config in ExplorerConfig.objects.order_by("use")
            }
    except Exception as exc:  # noqa: BLE001 - any failure is recorded; the old state serves
        logger.exception("Exploration update run %s failed", run_id)
        run.status, run.finished_at = UpdateRun.Status.FAILED, timezone.now()
        run.error = f"{type(exc).__name__}: {exc}"[:2000]
        run.save(update_fields=["status", "finished_at", "error"])
        return run
    run.status, run.finished_at, run.counts = UpdateRun.Status.SUCCEEDED, timezone.now(), counts
    run.save(update_fields=["status", "finished_at", "counts"])
    return run


def _window() -> timedelta:
    return timedelta(seconds=settings.EXPLORATION_ATTRIBUTION_SECONDS)


def _final_through(after: int, *, now: datetime) -> int:
    """The largest impression id such that every impression after `after` up to it is final
    (its window closed, its page committed); `after` if there is none. Read from the
    pages' records, as ids follow them (`events.models.SLOTS_PER_RECORD`)."""
    later = PageImpressions.objects.filter(id__gte=after // SLOTS_PER_RECORD)
    grace = timedelta(seconds=settings.EXPLORATION_COMMIT_GRACE_SECONDS)
    not_final = later.filter(
        Q(page__served_at__gt=now - _window()) | Q(page__logged_at__gt=timezone.now() - grace)
    ).aggregate(first=Min("id"))["first"]
    if not_final is not None:
        return max(after, not_final * SLOTS_PER_RECORD - 1)
    last = later.order_by("-id").values_list("id", "slot_count").first()
    return max(after, last[0] * SLOTS_PER_RECORD + last[1] - 1) if last else after


def _update_use(config: ExplorerConfig, *, run: UpdateRun, now: datetime) -> dict:
    watermark = Watermark.objects.select_for_update().get(use=config.use)
    before = watermark.impression_id
    through = _final_through(before, now=now)
    through = _batch_end(config.use, before, through)
    counts = {"watermark_before": before, "watermark_after": through, "counted": 0}
    if through <= before:
        return counts
    feedback = FEEDBACK[config.use](before, through)
    counts["counted"] = len(feedback)
    if len(feedback):
        policy, previous = _policy_from_newest(config)
        policy.update(feedback)
        latest = BanditState.objects.filter(use=config.use).aggregate(v=Max("version"))["v"]
        state = BanditState.objects.create(
            use=config.use,
            version=(latest or 0) + 1,
            policy=policy.name,
            config=policy.config,
            state=bandit.state_dump(policy),
            run=run,
            counted=len(feedback),
            watermark=through,
        )
        counts["rewarded"] = int((feedback.rewards > 0).sum())
        counts["state"] = state.pk
        counts["version"] = state.version
        counts["from_version"] = previous.version if previous else 0
    watermark.impression_id = through
    watermark.save(update_fields=["impression_id", "updated_at"])
    return counts


def _batch_end(use: str, before: int, through: int) -> int:
    """At most EXPLORATION_UPDATE_BATCH impressions per run (the rest wait for the next)."""
    ids = Impression.objects.ids(before, through).order_by("id")
    last = ids.values_list("id", flat=True)[settings.EXPLORATION_UPDATE_BATCH - 1 :][:1]
    return min(through, last[0]) if last else through


def _policy_from_newest(config: ExplorerConfig):
    """The use's policy at its newest state (a fresh one when the newest state was saved
    under another config), and that state."""
    policy = bandit.config_check(config)
    newest = BanditState.objects.filter(use=config.use).order_by("-id").first()
    if newest is not None and newest.policy == policy.name and newest.config == _json(policy):
        bandit.state_load(policy, newest.state)
        return policy, newest
    return policy, None


def _json(policy) -> dict:
    import json

    return json.loads(json.dumps(policy.config))


def impression_rewards(impressions: list[dict]) -> np.ndarray:
    """Each impression's reward as the update counts it (dicts with member_id, title_id and
    served_at): the promotion gate's off-policy evaluation reads the same definition."""
    return _rewards(impressions)


def _rewards(impressions: list[dict]) -> np.ndarray:
    """Each impression's reward (module docstring), one query for all of them."""
    if not impressions:
        return np.zeros(0)
    window = _window()
    members = {i["member_id"] for i in impressions}
    titles = {i["title_id"] for i in impressions}
    start = min(i["served_at"] for i in impressions)
    end = max(i["served_at"] for i in impressions) + window
    plays = defaultdict(list)
    for member, title, at, watched, runtime in Interaction.objects.filter(
        type=Interaction.Type.PLAY,
        member_id__in=members,
        title_id__in=titles,
        occurred_at__gte=start,
        occurred_at__lte=end,
    ).values_list(
        "member_id", "title_id", "occurred_at", "watched_seconds", "title__runtime_minutes"
    ):
        plays[member, title].append(
            (at, watched_fraction(watched_seconds=watched or 0, runtime_minutes=runtime))
        )
    rewards = np.zeros(len(impressions))
    for n, imp in enumerate(impressions):
        served = imp["served_at"]
        for at, fraction in plays.get((imp["member_id"], imp["title_id"]), ()):
            if served <= at <= served + window:
                rewards[n] = max(rewards[n], fraction)
    return rewards


FIELDS = ("id", "page_id", "member_id", "title_id", "served_at", "row_key", "bandit_inputs")


def _slots_feedback(before: int, through: int) -> bandit.Feedback:
    rows = list(
        Impression.objects.ids(before, through)
        .filter(explored=True, row_key__in=SLOT_ROWS)
        .order_by("id")
        .values(*FIELDS, "propensity")
    )
    return _feedback(
        rows,
        contexts=[r["bandit_inputs"]["context"] for r in rows],
        actions=[r["title_id"] for r in rows],
        features=[r["bandit_inputs"]["features"] for r in rows],
        propensities=[r["propensity"] for r in rows],
        rewards=_rewards(rows),
    )


def _artwork_feedback(before: int, through: int) -> bandit.Feedback:
    rows = list(
        Impression.objects.ids(before, through)
        .exclude(artwork_policy="")
        .order_by("id")
        .values(*FIELDS, "artwork", "artwork_propensity", "page__exploration")
    )
    n = settings.EXPLORATION_ARTWORK_VARIANTS
    return _feedback(
        rows,
        contexts=[r["page__exploration"]["artwork"]["context"] for r in rows],
        actions=[bandit.artwork_action(r["title_id"], r["artwork"], n) for r in rows],
        features=[bandit.one_hot(r["artwork"], n) for r in rows],
        propensities=[r["artwork_propensity"] for r in rows],
        rewards=_rewards(rows),
    )


def _row_order_feedback(before: int, through: int) -> bandit.Feedback:
    """One row per chosen row kind of every page whose first slot (row 0, position 0: the
    first impression the page wrote) is in the range: each page counted once."""
    pages = (
        Impression.objects.ids(before, through)
        .filter(row_index=0, position=0)
        .exclude(page__row_order_policy="")
    )
    pages = pages.values_list("page_id", flat=True)
    rows = list(
        Impression.objects.filter(page_id__in=list(pages))
        .order_by("id")
        .values(*FIELDS, "page__exploration")
    )
    rewards = _rewards(rows)
    best: dict[tuple, float] = defaultdict(float)
    records = {}
    for row, reward in zip(rows, rewards, strict=True):
        best[row["page_id"], row["row_key"]] = max(best[row["page_id"], row["row_key"]], reward)
        records[row["page_id"]] = row["page__exploration"]["row_order"]
    kinds = {v: k for k, v in ROW_KINDS.items()}
    contexts, actions, propensities, out = [], [], [], []
    for page_id, record in records.items():
        for kind, p in zip(record["chosen"], record["propensities"], strict=True):
            contexts.append(record["context"])
            actions.append(kind)
            propensities.append(p)
            out.append(best.get((page_id, kinds[kind]), 0.0))
    return _feedback(
        contexts,
        contexts=contexts,
        actions=actions,
        features=[bandit.one_hot(a, len(ROW_KINDS)) for a in actions],
        propensities=propensities,
        rewards=np.asarray(out),
    )


def _feedback(rows, *, contexts, actions, features, propensities, rewards) -> bandit.Feedback:
    if not rows:
        return bandit.Feedback(
            contexts=np.zeros((0, 0)),
            actions=np.zeros(0, np.int64),
            rewards=np.zeros(0),
            propensities=np.zeros(0),
        )
    return bandit.Feedback(
        contexts=np.asarray(contexts, np.float64),
        actions=np.asarray(actions, np.int64),
        rewards=np.asarray(rewards, np.float64),
        propensities=np.asarray(propensities, np.float64),
        action_features=np.asarray(features, np.float64),
    )


FEEDBACK = {
    Use.SLOTS: _slots_feedback,
    Use.ARTWORK: _artwork_feedback,
    Use.ROW_ORDER: _row_order_feedback,
}
