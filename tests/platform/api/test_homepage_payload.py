"""The homepage's fast path writes what the DRF serializers write: the same JSON value, field
for field, on a page with every row kind, a model with its gate decisions, odd characters and
times with and without microseconds."""

import json
import uuid
from datetime import timedelta

import numpy as np
import orjson
import pytest
from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from api.renderers import ORJSONRenderer
from api.views.homepage import HomepageOutput, homepage_payload, page_experiment_list
from catalog.models import Title
from events.models import Interaction
from homepage.services import homepage_build
from members.models import MyListEntry
from modeling.services import retrain_execute, retrain_run_create
from tests.factories import TitleFactory
from tests.platform.modeling.test_services import clustered_log

pytestmark = pytest.mark.django_db


def serializer_payload(page, *, member_id, at) -> dict:
    """The page as the view built it before the fast path: objects for DRF to format."""
    version = page.ranking.version
    return {
        "page_id": page.page.page_id,
        "member": member_id,
        "served_at": at,
        "model_version": {"id": version.pk, "kind": version.kind} if version else None,
        "fallback": page.ranking.fallback,
        "fallback_reason": page.ranking.fallback_reason or None,
        "personal": page.personal,
        "gate": page.gate,
        "row_order": {
            "policy": page.exploration.row_order_policy,
            "probability": page.exploration.row_order_probability,
        },
        "experiment": page_experiment_list(page)[0] if page.experiments else None,
        "experiments": page_experiment_list(page),
        "rows": [
            {
                "key": row.key,
                "title": row.title,
                "explanation": row.explanation,
                "policy": row.policy,
                "items": [
                    {
                        "position": position,
                        "propensity": slot.propensity,
                        "explored": slot.explored,
                        "policy": slot.policy or row.policy,
                        "artwork": slot.artwork,
                        "artwork_propensity": slot.artwork_propensity,
                        "artwork_policy": slot.artwork_policy,
                        "score": slot.score,
                        "match": page.match.get(slot.title.pk),
                        "title": slot.title,
                    }
                    for position, slot in enumerate(row.slots)
                ],
            }
            for row in page.rows
        ],
    }


def rich_page(settings):
    settings.MODELING_CANDIDATES = ["popularity", "mf"]
    settings.HOMEPAGE_ROW_SIZE = 4
    members, titles = clustered_log(n_members=6, n_titles=40, plays_each=4)
    run = retrain_execute(run_id=retrain_run_create().pk)
    assert run.promoted is not None
    member, now = members[0], timezone.now()
    odd = TitleFactory(
        name='Line\u2028break "quoted" \\ é 😀',
        synopsis="tab\tand\u2029para\x01",
        added_at=now - timedelta(days=2, microseconds=123),
        genres=["Drama", "Comedy"],
    )
    Interaction.objects.create(
        event_id=uuid.uuid4(),
        type="thumb_up",
        member=member,
        title=titles[0],
        occurred_at=now - timedelta(minutes=1),
    )
    Interaction.objects.create(
        event_id=uuid.uuid4(),
        type="play",
        member=member,
        title=titles[1],
        watched_seconds=60,
        occurred_at=now - timedelta(minutes=2),
    )
    MyListEntry.objects.create(member=member, title=odd)
    # Every other title's synopsis has the two separators too: which titles a page shows
    # depends on the explorer's draws (and they on the hour), and the escapes must be
    # checked whichever titles it shows, the odd one or not.
    Title.objects.exclude(pk=odd.pk).update(synopsis="line\u2028and\u2029para")
    return member, timezone.now()


@pytest.mark.parametrize("explorer", [False, True], ids=["explorer off", "explorer on"])
def test_fast_path_writes_the_serializers_json_value(settings, explorer):
    member, at = rich_page(settings)
    if explorer:
        from exploration.services import explorer_defaults_install
        from exploration.serving import reset_cache

        settings.EXPLORATION_MAX_ROWS = 10  # every row kind still shows, in the explorer's order
        explorer_defaults_install(enabled=True)
        reset_cache()
    page = homepage_build(member=member, at=at, rng=np.random.default_rng(0))
    assert any(s.explored for r in page.rows for s in r.slots) == explorer
    keys = {row.key for row in page.rows}
    if explorer:  # a reordered page may leave a row empty (its titles shown above it)
        assert {"billboard", "top_picks", "something_different"} <= keys
    else:
        assert {
            "billboard",
            "continue_watching",
            "my_list",
            "top_picks",
            "because_you_liked",
        } <= keys
    assert page.gate, "a page served by a model carries the gate's decisions"

    reference = JSONRenderer().render(
        HomepageOutput(serializer_payload(page, member_id=member.pk, at=at)).data
    )
    fast = ORJSONRenderer().render(homepage_payload(page, member_id=member.pk, at=at))
    assert json.loads(fast) == json.loads(reference)
    # The same escapes of U+2028/2029 as DRF, and the same text, up to float spelling.
    assert b"\\u2028" in fast and "\u2028".encode() not in fast
    assert orjson.loads(fast) == json.loads(reference)


def test_the_api_answers_the_fast_path(api, member, settings):
    settings.HOMEPAGE_ROW_SIZE = 3
    TitleFactory.create_batch(8)
    response = api.get(f"/api/v1/members/{member.pk}/homepage")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["served_at"].endswith("Z")
    assert all(item["title"]["added_at"].endswith("Z") for r in body["rows"] for item in r["items"])


def test_errors_still_answer_json(api, member):
    response = api.get(f"/api/v1/members/{member.pk}/homepage", {"at": "yesterday"})
    assert response.status_code == 400
    assert "at" in response.json()
