"""The lab's explorer panel: per use, the policy and its config, the newest learned state and
the update runs, and over time from the fact log what the explorer did and what followed.

Every ratio is computed here from the fact log (`events.Impression`, `events.PageView`,
`events.Interaction`), in a fixed number of queries whatever the window holds. A play counts
for the impression it was played from: the same page, row and position (the event names
them), bucketed by when that page was served, so a bucket's click-through is about the
impressions served in it."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Avg, Count, OuterRef, Q, Subquery

from events.models import Impression, Interaction, PageView
from exploration.models import BanditState, UpdateRun
from exploration.selectors import explorer_config_list

from . import metrics
from .selectors import _STEP, _TRUNC, WINDOWS, _floor

RUNS_SHOWN = 10
"""Update runs the panel lists, newest first."""


@dataclass(frozen=True)
class SlotPoint:
    """The slots' explorer over one bucket: how much it explored, how surely, and whether the
    explored slots were played as often as the deterministic ones."""

    start: datetime
    impressions: int
    explored: int  # impressions the explorer chose (Impression.explored)
    explored_share: float | None  # explored / impressions
    explored_mean_propensity: float | None  # mean logged propensity of the explored ones
    explored_plays: int
    deterministic_plays: int
    explored_ctr: float | None  # plays per explored impression
    deterministic_ctr: float | None  # plays per deterministic impression


@dataclass(frozen=True)
class RowOrderPoint:
    start: datetime
    pages: int
    explored_pages: int  # pages whose row order a policy chose (PageView.row_order_policy)
    explored_share: float | None
    mean_probability: float | None  # mean logged probability of those pages' orders


@dataclass(frozen=True)
class VariantShare:
    variant: int
    shown: int
    share: float | None  # shown / impressions whose variant the artwork explorer drew
    plays: int
    play_rate: float | None  # plays per impression of this variant


@dataclass(frozen=True)
class ArtworkPoint:
    start: datetime
    impressions: int  # impressions whose variant the artwork explorer drew
    variants: list[VariantShare]  # every variant seen in the window, by variant


@dataclass(frozen=True)
class UseRun:
    """An update run as one use saw it: the run's status and error, and this use's counts
    (watermark before and after, counted, and for a use that learned: rewarded, version)."""

    run: UpdateRun
    counts: dict


@dataclass(frozen=True)
class UseStatus:
    config: object  # exploration.models.ExplorerConfig (unsaved and disabled if never set)
    state: BanditState | None  # the newest; None while the use has learned nothing
    runs: list[UseRun]


@dataclass(frozen=True)
class ExplorerPanel:
    uses: list[UseStatus]
    slots: list[SlotPoint]
    row_order: list[RowOrderPoint]
    artwork: list[ArtworkPoint]


def _buckets(start: datetime, end: datetime, bucket: str) -> list[datetime]:
    out, at, step = [], _floor(start, bucket), _STEP[bucket]
    while at <= end:
        out.append(at)
        at += step
    return out


def explorer_panel(*, end: datetime, window: str) -> ExplorerPanel:
    """The panel for `window` (see lab.selectors.WINDOWS) up to `end`, one point per bucket,
    oldest first; buckets with no traffic are kept with None ratios."""
    span, bucket = WINDOWS[window]
    start, trunc = end - span, _TRUNC[bucket]
    buckets = _buckets(start, end, bucket)
    return ExplorerPanel(
        uses=_uses(),
        slots=_slots(start, end, trunc, buckets),
        row_order=_row_order(start, end, trunc, buckets),
        artwork=_artwork(start, end, trunc, buckets),
    )


def _uses() -> list[UseStatus]:
    configs = explorer_config_list()
    runs = list(UpdateRun.objects.order_by("-id")[:RUNS_SHOWN])
    newest = {}
    for state in BanditState.objects.filter(
        pk__in=Subquery(
            BanditState.objects.filter(use=OuterRef("use")).order_by("-id").values("pk")[:1]
        )
    ).defer("state"):
        newest[state.use] = state
    return [
        UseStatus(
            config=config,
            state=newest.get(config.use),
            runs=[UseRun(run, (run.counts or {}).get(config.use, {})) for run in runs],
        )
        for config in configs
    ]


def _plays(start: datetime, end: datetime, trunc, *fields: str):
    """Plays from the homepage of pages served in the window, with the named fields of the
    impression each was played from (None where no impression matches)."""
    impression = Impression.objects.filter(
        page_id=OuterRef("page_id"), row_key=OuterRef("row_key"), position=OuterRef("position")
    )
    plays = Interaction.objects.filter(
        type=Interaction.Type.PLAY,
        page__isnull=False,
        position__isnull=False,
        page__served_at__gt=start,
        page__served_at__lte=end,
    ).annotate(b=trunc("page__served_at"))
    plays = plays.annotate(**{f"i_{f}": Subquery(impression.values(f)[:1]) for f in fields})
    return plays.values_list("b", *(f"i_{f}" for f in fields)).annotate(n=Count("id")).order_by()


def _slots(start, end, trunc, buckets) -> list[SlotPoint]:
    served = {
        row["b"]: row
        for row in Impression.objects.filter(served_at__gt=start, served_at__lte=end)
        .annotate(b=trunc("served_at"))
        .values("b")
        .annotate(
            n=Count("id"),
            x=Count("id", filter=Q(explored=True)),
            p=Avg("propensity", filter=Q(explored=True)),
        )
        .order_by()
    }
    played: dict[tuple[datetime, bool], int] = defaultdict(int)
    for b, explored, n in _plays(start, end, trunc, "explored"):
        if explored is not None:
            played[(b, bool(explored))] += n
    points = []
    for at in buckets:
        row = served.get(at, {"n": 0, "x": 0, "p": None})
        n, x = row["n"], row["x"]
        px, pd = played[(at, True)], played[(at, False)]
        points.append(
            SlotPoint(
                start=at,
                impressions=n,
                explored=x,
                explored_share=metrics.ratio(x, n),
                explored_mean_propensity=row["p"],
                explored_plays=px,
                deterministic_plays=pd,
                explored_ctr=metrics.ratio(px, x),
                deterministic_ctr=metrics.ratio(pd, n - x),
            )
        )
    return points


def _row_order(start, end, trunc, buckets) -> list[RowOrderPoint]:
    explored = ~Q(row_order_policy="")
    pages = {
        row["b"]: row
        for row in PageView.objects.filter(served_at__gt=start, served_at__lte=end)
        .annotate(b=trunc("served_at"))
        .values("b")
        .annotate(
            n=Count("page_id"),
            x=Count("page_id", filter=explored),
            p=Avg("row_order_probability", filter=explored),
        )
        .order_by()
    }
    points = []
    for at in buckets:
        row = pages.get(at, {"n": 0, "x": 0, "p": None})
        points.append(
            RowOrderPoint(
                start=at,
                pages=row["n"],
                explored_pages=row["x"],
                explored_share=metrics.ratio(row["x"], row["n"]),
                mean_probability=row["p"],
            )
        )
    return points


def _artwork(start, end, trunc, buckets) -> list[ArtworkPoint]:
    shown: dict[datetime, dict[int, int]] = defaultdict(dict)
    for b, variant, n in (
        Impression.objects.filter(served_at__gt=start, served_at__lte=end)
        .exclude(artwork_policy="")
        .annotate(b=trunc("served_at"))
        .values_list("b", "artwork")
        .annotate(n=Count("id"))
        .order_by()
    ):
        shown[b][variant] = n
    played: dict[tuple[datetime, int], int] = defaultdict(int)
    for b, variant, policy, n in _plays(start, end, trunc, "artwork", "artwork_policy"):
        if policy:  # the play's impression had a drawn variant
            played[(b, variant)] += n
    variants = sorted({v for counts in shown.values() for v in counts})
    points = []
    for at in buckets:
        counts = shown.get(at, {})
        total = sum(counts.values())
        points.append(
            ArtworkPoint(
                start=at,
                impressions=total,
                variants=[
                    VariantShare(
                        variant=v,
                        shown=counts.get(v, 0),
                        share=metrics.ratio(counts.get(v, 0), total),
                        plays=played[(at, v)],
                        play_rate=metrics.ratio(played[(at, v)], counts.get(v, 0)),
                    )
                    for v in variants
                ],
            )
        )
    return points
