"""A member's homepage.

The page is the API's largest and most requested response (10 rows of 25 titles is about
60 KB), so its view writes plain data and renders it with orjson (`api.renderers`), each
title serialized once per catalogue snapshot (`api.serializers.title_json`): DRF serializers
and the stdlib json took about a third of a page's time (docs/benchmarks.md, "Load"). The
serializers below still state the contract (the OpenAPI schema), and a test checks that the
view writes what they would (tests/platform/api/test_homepage_payload.py).
"""

from collections.abc import Callable, Iterable
from datetime import datetime

import orjson
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from homepage.services import Homepage, homepage_build
from members.selectors import member_get_for_account

from ..renderers import ORJSONRenderer
from ..serializers import QueryParams, TitleOutput, drf_time, title_json
from .validators import TimeField, device_field


class HomepageItemOutput(serializers.Serializer):
    position = serializers.IntegerField()
    propensity = serializers.FloatField(
        help_text="Probability that the policy put this title here, given the explored "
        "positions above it in the row (1.0: a deterministic slot)."
    )
    explored = serializers.BooleanField(
        help_text="Whether the explorer chose this title (false: the row's own ranking)."
    )
    policy = serializers.CharField(
        help_text="What chose it: the explorer as name@vN (N: its state's version), or the "
        "row's policy."
    )
    artwork = serializers.IntegerField(
        help_text="The artwork variant to draw (0: the title's own; 0..variants-1)."
    )
    artwork_propensity = serializers.FloatField(
        help_text="Probability of that variant (1.0: no artwork explorer)."
    )
    artwork_policy = serializers.CharField(help_text="The artwork explorer; blank when off.")
    score = serializers.FloatField(allow_null=True)
    match = serializers.IntegerField(
        allow_null=True,
        help_text="Percentile (0-100) of the serving model's score for this title among the "
        "titles on offer to this member; null when the model could not score it.",
    )
    title = TitleOutput()


class GateDecisionOutput(serializers.Serializer):
    version = serializers.IntegerField(source="candidate_id")
    kind = serializers.CharField(source="candidate.kind")
    metric = serializers.CharField()
    value = serializers.FloatField(source="candidate_value")
    baseline_value = serializers.FloatField(allow_null=True)
    promoted = serializers.BooleanField()
    reason = serializers.CharField()


class HomepageRowOutput(serializers.Serializer):
    key = serializers.CharField()
    title = serializers.CharField()
    explanation = serializers.CharField()
    policy = serializers.CharField()
    items = HomepageItemOutput(many=True)


class RowOrderOutput(serializers.Serializer):
    policy = serializers.CharField(help_text="The row-order explorer; blank: the usual order.")
    probability = serializers.FloatField(
        help_text="Probability of this page's rows in this order (1.0: deterministic)."
    )


class PageExperimentOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    surface = serializers.CharField(help_text="model, slots, row_order or artwork.")
    arm = serializers.CharField(help_text="The arm this member is in.")


class HomepageOutput(serializers.Serializer):
    page_id = serializers.UUIDField()
    member = serializers.IntegerField()
    served_at = serializers.DateTimeField()
    planned_at = serializers.DateTimeField(
        allow_null=True,
        help_text="When the page's rows were computed, if before served_at: served from the "
        "member's plan, with nothing it was computed from changed since (at most "
        "HOMEPAGE_PLAN_SECONDS earlier); null: computed for this request.",
    )
    model_version = serializers.DictField(allow_null=True, help_text='{"id": int, "kind": str}')
    fallback = serializers.BooleanField()
    fallback_reason = serializers.CharField(allow_null=True)
    personal = serializers.BooleanField(
        help_text="Whether anything on the page depends on this member's own activity."
    )
    gate = GateDecisionOutput(
        many=True,
        help_text="The promotion gate's decisions on every candidate of the retrain that put "
        "the serving version in production: why it serves rather than another.",
    )
    row_order = RowOrderOutput()
    experiment = PageExperimentOutput(
        allow_null=True,
        help_text="The online experiment and arm that served this page (on the model surface "
        "if the member is in one there, else the oldest); null: production only.",
    )
    experiments = PageExperimentOutput(
        many=True, help_text="Every online experiment that served this page, one per surface."
    )
    rows = HomepageRowOutput(many=True)


def homepage_payload(
    page: Homepage,
    *,
    member_id: int,
    at: datetime,
    title: Callable = title_json,
    rows: Callable[[list], object] = list,
) -> dict:
    """The page as `HomepageOutput` writes it, as plain data; `title` renders each title
    (`title_json` for orjson; the Title itself to feed the serializer, as the test does),
    `rows` the list of rows (the view: their JSON, once per plan)."""
    version = page.ranking.version
    match = page.match
    experiments = page_experiment_list(page)
    return {
        "page_id": str(page.page.page_id),
        "member": member_id,
        "served_at": drf_time(at),
        "planned_at": None if page.planned_at is None else drf_time(page.planned_at),
        "model_version": {"id": version.pk, "kind": version.kind} if version else None,
        "fallback": page.ranking.fallback,
        "fallback_reason": page.ranking.fallback_reason or None,
        "personal": page.personal,
        "gate": [
            {
                "version": d.candidate_id,
                "kind": d.candidate.kind,
                "metric": d.metric,
                "value": float(d.candidate_value),
                "baseline_value": None if d.baseline_value is None else float(d.baseline_value),
                "promoted": d.promoted,
                "reason": d.reason,
            }
            for d in page.gate
        ],
        "row_order": {
            "policy": page.exploration.row_order_policy,
            "probability": float(page.exploration.row_order_probability),
        },
        "experiment": experiments[0] if experiments else None,
        "experiments": experiments,
        "rows": rows(
            {
                "key": row.key,
                "title": row.title,
                "explanation": row.explanation,
                "policy": row.policy,
                "items": [
                    {
                        "position": position,
                        "propensity": float(slot.propensity),
                        "explored": slot.explored,
                        "policy": slot.policy or row.policy,
                        "artwork": slot.artwork,
                        "artwork_propensity": float(slot.artwork_propensity),
                        "artwork_policy": slot.artwork_policy,
                        "score": None if slot.score is None else float(slot.score),
                        "match": match.get(slot.title.id),
                        "title": title(slot.title),
                    }
                    for position, slot in enumerate(row.slots)
                ],
            }
            for row in page.rows
        ),
    }


def rows_json(page: Homepage) -> Callable[[Iterable], orjson.Fragment]:
    """`homepage_payload`'s `rows` for the view: the rows' JSON, made once and kept in the
    page's memo, which every page served from the same finished plan shares (their rows,
    slots and matches are the plan's)."""

    def render(rows: Iterable) -> orjson.Fragment:
        kept = page.memo.get("rows_json")
        if kept is None:
            # an exact-size copy: orjson's own buffer keeps some 70% spare room
            kept = page.memo["rows_json"] = bytes(memoryview(orjson.dumps(list(rows))))
        return orjson.Fragment(kept)

    return render


def page_experiment_list(page: Homepage) -> list[dict]:
    """The page's experiments, the model surface's first, then by experiment id."""
    served = sorted(
        page.experiments.values(), key=lambda s: (s.surface != "model", s.experiment_id)
    )
    return [
        {"id": s.experiment_id, "name": s.experiment_name, "surface": s.surface, "arm": s.arm}
        for s in served
    ]


class MemberHomepageApi(APIView):
    renderer_classes = [ORJSONRenderer]

    class Input(serializers.Serializer):
        at = TimeField(
            required=False,
            help_text="The page's clock (default now), ISO 8601 with a UTC offset, from "
            "1970-01-01T00:00:00Z to 5 minutes ahead of the server.",
        )
        device = device_field()

    params = QueryParams(Input)

    @extend_schema(parameters=[Input], responses=HomepageOutput)
    def get(self, request, member_id: int):
        params = self.params.validate(request.query_params)
        member = member_get_for_account(member_id=member_id, account=request.user)
        at = params.get("at") or timezone.now()
        device = params.get("device", "")
        # A page at the present may come from the member's plan (homepage.plans); one at
        # an `at` of the client's choosing is always computed for it.
        page = homepage_build(member=member, at=at, device=device, reuse="at" not in params)
        return Response(homepage_payload(page, member_id=member.pk, at=at, rows=rows_json(page)))
