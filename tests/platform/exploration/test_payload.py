"""The homepage payload says what the explorer did: which slots it chose and with what
probability, under which policy and state, the artwork variant of every item and the row
order's probability; and the fact log holds the same numbers."""

import pytest

from events.models import Impression, PageView

from .conftest import configure

pytestmark = pytest.mark.django_db


def test_the_payload_and_the_fact_log_carry_every_explored_choice(world, client_for):
    configure("slots", policy="epsilon_greedy", rate=0.5, positions=1)
    configure("row_order", policy="softmax", rate=0.0)
    configure("artwork", policy="epsilon_greedy", rate=0.5)
    member = world["member"]
    page = client_for(member.account).get(f"/api/v1/members/{member.pk}/homepage").json()
    items = {(row["key"], item["position"]): item for row in page["rows"] for item in row["items"]}
    explored = {k: i for k, i in items.items() if i["explored"]}
    assert any(k[0] == "top_picks" for k in explored)
    assert any(k[0] == "something_different" for k in explored)
    assert all(
        i["propensity"] < 1 and i["policy"] == "epsilon_greedy@v0" for i in explored.values()
    )
    assert all(i["propensity"] == 1.0 for k, i in items.items() if k not in explored)
    assert all(0 <= i["artwork"] < 4 and 0 < i["artwork_propensity"] < 1 for i in items.values())
    assert {i["artwork_policy"] for i in items.values()} == {"epsilon_greedy@v0"}
    assert page["row_order"]["policy"] == "softmax@v0"
    assert 0 < page["row_order"]["probability"] < 1

    stored = PageView.objects.get(page_id=page["page_id"])
    assert stored.row_order_probability == page["row_order"]["probability"]
    assert set(stored.exploration) == {"row_order", "top_picks", "something_different", "artwork"}
    facts = {(f.row_key, f.position): f for f in Impression.objects.filter(page=stored)}
    assert set(facts) == set(items)
    for key, item in items.items():
        fact = facts[key]
        assert (fact.propensity, fact.explored, fact.policy) == (
            item["propensity"],
            item["explored"],
            item["policy"],
        )
        assert (fact.artwork, fact.artwork_propensity) == (
            item["artwork"],
            item["artwork_propensity"],
        )
        assert (fact.estimated, fact.draws) == (False, 0)


def test_with_the_explorer_off_the_payload_is_deterministic(world, client_for):
    member = world["member"]
    page = client_for(member.account).get(f"/api/v1/members/{member.pk}/homepage").json()
    assert page["row_order"] == {"policy": "", "probability": 1.0}
    for row in page["rows"]:
        for item in row["items"]:
            assert (item["explored"], item["propensity"], item["artwork"]) == (False, 1.0, 0)
            assert item["policy"] == row["policy"] and item["artwork_policy"] == ""
