"""Page construction: build a member's homepage and log every impression on it.

    page context (once per request) -> candidate rows (one builder per row kind)
      -> filled rows (no title twice) -> [the explorer, when it lands] -> page record

Each step is its own function, so a new row kind, or a policy that reorders rows or fills
slots, is a new function rather than an edit of this one.
"""

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings

from events.models import PageView
from events.services import page_record
from members.models import Member
from modeling.features import context_features, title_features
from modeling.models import PromotionDecision
from modeling.ranking import Ranking
from modeling.selectors import gate_decisions

from .builders import NON_PERSONAL_KINDS, candidate_rows
from .context import match_percentiles, page_context_build
from .rows import Row, rows_fill

PERSONAL_ROWS = frozenset(
    {"continue_watching", "my_list", "because_you_watched", "because_you_liked"}
)
"""Row kinds that exist only because of what this member did."""


@dataclass(frozen=True)
class Homepage:
    page: PageView
    ranking: Ranking
    rows: list[Row]
    match: dict[int, int]  # title id -> percentile of its score for this member (no entry: none)
    gate: list[PromotionDecision]  # the gate's decisions that put the serving version there
    personal: bool  # whether anything on the page depends on this member's own activity


def homepage_build(*, member: Member, at: datetime) -> Homepage:
    """Rows for `member` at time `at` (see `builders.ROW_BUILDERS`). No title twice on a page;
    a kids profile sees only kids titles; every slot is logged as an impression before the
    page is returned."""
    ctx = page_context_build(member=member, at=at)
    rows = rows_fill(candidate_rows(ctx), size=settings.HOMEPAGE_ROW_SIZE)
    ranking = ctx.ranking
    page = page_record(
        member=member,
        served_at=at,
        model_version_id=ranking.version.pk if ranking.version else None,
        fallback=ranking.fallback,
        fallback_reason=ranking.fallback_reason,
        slots=_impressions(rows, at=at),
    )
    version = ranking.version
    personal = any(row.key in PERSONAL_ROWS for row in rows) or (
        version is not None and version.kind not in NON_PERSONAL_KINDS and bool(ctx.history)
    )
    return Homepage(
        page=page,
        ranking=ranking,
        rows=rows,
        match=match_percentiles(ctx),
        gate=gate_decisions(version=version) if version is not None else [],
        personal=personal,
    )


def _impressions(rows: list[Row], *, at: datetime) -> list[dict]:
    """One fact per slot: where it was, what was shown, by which policy with what
    probability, and the features serving used (the models' own feature functions)."""
    context = context_features(at=at)
    impressions = []
    for row_index, row in enumerate(rows):
        for position, slot in enumerate(row.slots):
            features = {
                **context,
                **title_features(
                    added_at=slot.title.added_at, release_date=slot.title.release_date, at=at
                ),
                "score": slot.score,
            }
            impressions.append(
                {
                    "row_key": row.key,
                    "row_index": row_index,
                    "position": position,
                    "title_id": slot.title.pk,
                    "policy": row.policy,
                    "propensity": slot.propensity,
                    "features": features,
                }
            )
    return impressions
