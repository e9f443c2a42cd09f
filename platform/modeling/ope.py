"""Off-policy evaluation for the promotion gate: the bridge to recommender.ope.

The explorer logs, for every explored slot (Top Picks' explored positions and the Something
different row), the eligible titles, the one it showed and the probability it gave it
(docs/explorer.md). From those pages this module estimates what a model version's own policy
on the same slots would have earned, with the library's doubly robust estimator and its
bootstrap interval. No estimator is written here: the math is recommender.ope's.

A version's **target policy** on an explored slot (docs/ope.md#in-the-promotion-gate): over
the titles still eligible at that slot (the logged eligible list minus those the explorer put
at explored positions above it), the softmax of the version's scores standardized over them,
at temperature ``MODELING_OPE_TEMPERATURE``, mixed with a uniform floor
``MODELING_OPE_FLOOR``. A title the version cannot score gets its lowest score minus 1, as
the explorer does. The reward is the impression's reward as the explorer's update counts it:
the largest watched fraction of the member's plays of the title within the attribution window.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from django.conf import settings

from events.models import Impression
from recommender.ope import Estimate, RewardModelConfig, doubly_robust, with_intervals
from recommender.ope.reward_model import assign_folds, fit_reward_model

SLOT_ROWS = ("top_picks", "something_different")
SCORE_BATCH = 256


@dataclass(frozen=True)
class LoggedSlots:
    """The explored slots of a period, with what the estimator needs of each (N slots)."""

    members: list[str]
    """(N,) member id of each slot's page, as the models know members (a string)."""
    at: np.ndarray
    """(N,) when its page was served (unix seconds)."""
    eligible: list[np.ndarray]
    """Per slot, the title ids still eligible there; the shown title is among them."""
    chosen: np.ndarray
    """(N,) index of the shown title in its slot's ``eligible``."""
    propensities: np.ndarray
    """(N,) the explorer's probability of the shown title at the slot."""
    rewards: np.ndarray
    pages: np.ndarray
    """(N,) page index: slots of one page are resampled together."""
    features: list[np.ndarray]
    """Per slot, (n_eligible, d) reward-model features of each eligible title there."""

    def __len__(self) -> int:
        return len(self.chosen)


def logged_slots(*, since: datetime, until: datetime) -> LoggedSlots:
    """The explored slots of pages served in [since, until - attribution window]: only pages
    whose rewards are all in."""
    from exploration.services import impression_rewards  # the update's reward definition

    window = timedelta(seconds=settings.EXPLORATION_ATTRIBUTION_SECONDS)
    rows = list(
        Impression.objects.filter(
            explored=True,
            row_key__in=SLOT_ROWS,
            served_at__gte=since,
            served_at__lte=until - window,
        )
        .order_by("id")
        .values("page_id", "member_id", "title_id", "served_at", "row_key", "propensity")
    )
    records = _page_records({r["page_id"] for r in rows})
    pages: dict[object, int] = {}
    keep, eligible, chosen, features = [], [], [], []
    for row in rows:
        record = (records.get(row["page_id"]) or {}).get(row["row_key"])
        if not record or row["title_id"] not in record.get("chosen", []):
            raise ValueError(
                f"Explored impression of title {row['title_id']} on page {row['page_id']} has "
                f"no {row['row_key']} record of its choice; the fact log is malformed."
            )
        step = record["chosen"].index(row["title_id"])
        shown_above = set(record["chosen"][:step])
        ids, scores = [], []
        for title, score in record["eligible"]:
            if title not in shown_above:
                ids.append(int(title))
                scores.append(np.nan if score is None else float(score))
        ids = np.asarray(ids, np.int64)
        chosen.append(int(np.flatnonzero(ids == row["title_id"])[0]))
        eligible.append(ids)
        features.append(_features(record["context"], np.asarray(scores), row["row_key"]))
        pages.setdefault(row["page_id"], len(pages))
        keep.append(row)
    return LoggedSlots(
        members=[str(r["member_id"]) for r in keep],
        at=np.asarray([r["served_at"].timestamp() for r in keep], np.float64),
        eligible=eligible,
        chosen=np.asarray(chosen, np.int64),
        propensities=np.asarray([r["propensity"] for r in keep], np.float64),
        rewards=impression_rewards(keep),
        pages=np.asarray([pages[r["page_id"]] for r in keep], np.int64),
        features=features,
    )


def _page_records(page_ids: set) -> dict:
    from events.models import PageView

    return dict(PageView.objects.filter(page_id__in=page_ids).values_list("page_id", "exploration"))


def _features(context: list[float], scores: np.ndarray, row_key: str) -> np.ndarray:
    """Reward-model features of each eligible title: the page context, the logged score
    standardized over the slot's eligible titles (0 where the serving model had none), whether
    it had one, and which row. They describe the logged world only, never a target."""
    known = np.isfinite(scores)
    z = np.zeros(len(scores))
    if known.any():
        z[known] = _standardized(scores[known])
    n = len(scores)
    row = np.full((n, 1), float(row_key == "something_different"))
    return np.hstack(
        [np.tile(np.asarray(context, np.float64), (n, 1)), z[:, None], known[:, None], row]
    )


def _standardized(x: np.ndarray) -> np.ndarray:
    sd = x.std()
    return (x - x.mean()) / sd if sd > 0 else np.zeros(len(x))


def target_probabilities(
    scores: np.ndarray, *, temperature: float | None = None, floor: float | None = None
) -> np.ndarray:
    """A version's probabilities over one slot's eligible titles (module docstring)."""
    temperature = settings.MODELING_OPE_TEMPERATURE if temperature is None else temperature
    floor = settings.MODELING_OPE_FLOOR if floor is None else floor
    z = _standardized(np.asarray(scores, np.float64)) / temperature
    p = np.exp(z - z.max())
    p /= p.sum()
    return (1.0 - floor) * p + floor / len(p)


def version_scores(model, slots: LoggedSlots) -> list[np.ndarray]:
    """Per slot, `model`'s scores of its eligible titles for the page's member at the page's
    time (a title it cannot score: its lowest score there minus 1)."""
    column = {item: j for j, item in enumerate(model.item_ids)}
    out: list[np.ndarray] = []
    for start in range(0, len(slots), SCORE_BATCH):
        stop = min(start + SCORE_BATCH, len(slots))
        matrix = model.score(slots.members[start:stop], at=slots.at[start:stop])
        for k, i in enumerate(range(start, stop)):
            cols = [column.get(str(t), -1) for t in slots.eligible[i]]
            got = np.asarray([matrix[k, c] if c >= 0 else np.nan for c in cols], np.float64)
            known = np.isfinite(got)
            got[~known] = (got[known].min() - 1.0) if known.any() else 0.0
            out.append(got)
    return out


@dataclass(frozen=True)
class Evaluator:
    """The logged slots with their cross-fitted reward model, fitted once and shared by every
    version judged on them (the model sees the logs, never a target)."""

    slots: LoggedSlots
    q_logged: np.ndarray
    """(N,) out-of-fold prediction of the shown title's reward."""
    q_all: list[np.ndarray]
    """Per slot, out-of-fold predictions for every eligible title."""

    def estimate(self, scores: list[np.ndarray], *, rng: np.random.Generator) -> Estimate:
        """DR estimate of the policy the scores define, with its 95% bootstrap interval
        (pages resampled whole)."""
        s = self.slots
        pi = [target_probabilities(x) for x in scores]
        weights = np.asarray([p[c] for p, c in zip(pi, s.chosen, strict=True)]) / s.propensities
        values = np.asarray([p @ q for p, q in zip(pi, self.q_all, strict=True)])
        estimate = doubly_robust(
            rewards=s.rewards,
            weights=weights,
            logged_predictions=self.q_logged,
            target_values=values,
            clusters=s.pages,
        )
        return with_intervals([estimate], replicates=settings.MODELING_OPE_REPLICATES, rng=rng)[0]


def evaluator(slots: LoggedSlots, *, rng: np.random.Generator) -> Evaluator:
    config = RewardModelConfig()
    folds = assign_folds(len(slots), config.folds, rng, clusters=slots.pages)
    logged = np.stack([f[c] for f, c in zip(slots.features, slots.chosen, strict=True)])
    zeros = np.zeros(len(slots), np.int64)
    model = fit_reward_model(
        contexts=logged,
        cells=zeros,
        actions=zeros,
        rewards=slots.rewards,
        n_cells=1,
        n_actions=1,
        folds=folds,
        config=config,
        n_folds=config.folds,
    )
    q_all = []
    for f, fold in zip(slots.features, folds, strict=True):
        n = len(f)
        q_all.append(
            model.predict(f, np.zeros(n, np.int64), np.zeros(n, np.int64), np.full(n, fold))
        )
    q_logged = np.asarray([q[c] for q, c in zip(q_all, slots.chosen, strict=True)])
    return Evaluator(slots=slots, q_logged=q_logged, q_all=q_all)


@dataclass(frozen=True)
class Figure:
    """What a decision stores of one policy's OPE estimate."""

    value: float
    low: float
    high: float
    ess: float

    @classmethod
    def of(cls, estimate: Estimate) -> "Figure":
        low, high = estimate.ci95
        return cls(float(estimate.value), float(low), float(high), float(estimate.ess))


@dataclass(frozen=True)
class Check:
    """The OPE side of a gate decision: both figures, or why there are none (`note`)."""

    impressions: int
    candidate: Figure | None = None
    baseline: Figure | None = None
    note: str = ""

    @property
    def judged(self) -> bool:
        return self.candidate is not None and self.baseline is not None

    @property
    def below(self) -> bool:
        """The candidate's whole interval lies below production's: it is clearly worse."""
        return self.judged and self.candidate.high < self.baseline.low


def skipped(impressions: int, why: str) -> Check:
    return Check(impressions=impressions, note=f"OPE skipped: {why}")


def too_few(n: int) -> str | None:
    need = settings.MODELING_OPE_MIN_IMPRESSIONS
    if n < need:
        return f"{n} explored impressions with their rewards in the holdout period; at least {need} needed (MODELING_OPE_MIN_IMPRESSIONS)"
    return None
