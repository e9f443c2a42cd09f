""" "More like this" (GET /titles/{id}/similar) and the lab's similar members, from the
embeddings the task stores after a promotion, with the fallback when there are none."""

import pytest
from rest_framework.test import APIClient

from catalog.models import Title
from modeling.selectors import SIMILAR_FALLBACK
from modeling.services import retrain_execute, retrain_run_create
from modeling.tasks import retrain
from tests.factories import AccountFactory, MemberFactory, TitleFactory
from tests.platform.modeling.test_embeddings import eager  # noqa: F401 - a fixture
from tests.platform.modeling.test_services import clustered_log

pytestmark = pytest.mark.django_db


def genre(title_id: int) -> str:
    return Title.objects.get(pk=title_id).genres.get().name


def test_more_like_this_finds_titles_of_the_genre_the_model_learned(api, eager):  # noqa: F811
    _, titles = clustered_log()
    retrain.apply().get()  # promotes MF, whose task then stores its embeddings
    same = []
    for title in titles[:10]:
        body = api.get(f"/api/v1/titles/{title.pk}/similar", {"k": 5}).json()
        assert body["source"] == "embeddings" and body["reason"] == ""
        assert body["model_version"]["kind"] == "mf" and body["title"] == title.pk
        results = body["results"]
        assert len(results) == 5 and title.pk not in [r["title"]["id"] for r in results]
        similarities = [r["similarity"] for r in results]
        assert similarities == sorted(similarities, reverse=True)
        same += [r["title"]["genres"] == [genre(title.pk)] for r in results]
    assert sum(same) / len(same) >= 0.8, sum(same) / len(same)  # random vectors: 0.62


def test_without_stored_embeddings_the_fallback_answers_by_genre_and_says_why(api):
    comedy = [TitleFactory(genres=["Comedy"]) for _ in range(3)]
    TitleFactory(genres=["Horror"])
    body = api.get(f"/api/v1/titles/{comedy[0].pk}/similar").json()
    assert body["source"] == SIMILAR_FALLBACK and body["model_version"] is None
    assert body["reason"] == "no model in production"
    ids = [r["title"]["id"] for r in body["results"]]
    assert ids[:2] == [comedy[1].pk, comedy[2].pk] and len(ids) == 3
    assert all(r["similarity"] is None for r in body["results"])


def test_a_version_whose_embeddings_are_not_stored_yet_falls_back(api):
    _, titles = clustered_log()
    retrain_execute(run_id=retrain_run_create().pk)  # the service: no task stores them
    body = api.get(f"/api/v1/titles/{titles[0].pk}/similar").json()
    assert body["source"] == SIMILAR_FALLBACK and "not stored yet" in body["reason"]


def test_more_like_this_for_a_kids_profile_has_kids_titles_only(api, member):
    TitleFactory(genres=["Comedy"], maturity_rating="18+")
    kids_title = TitleFactory(genres=["Comedy"], maturity_rating="all")
    kid = MemberFactory(account=member.account, name="Kid", is_kids=True)
    asked = TitleFactory(genres=["Comedy"], maturity_rating="all")
    body = api.get(f"/api/v1/titles/{asked.pk}/similar", {"member": kid.pk}).json()
    assert [r["title"]["id"] for r in body["results"]] == [kids_title.pk]


def test_unknown_title_is_404_and_bad_input_400(api):
    title = TitleFactory()
    response = api.get("/api/v1/titles/999999/similar")
    assert response.status_code == 404 and "No title 999999" in response.json()["detail"]
    assert api.get(f"/api/v1/titles/{title.pk}/similar", {"k": 0}).status_code == 400
    assert api.get(f"/api/v1/titles/{title.pk}/similar", {"k": ""}).status_code == 400
    other = MemberFactory()
    assert api.get(f"/api/v1/titles/{title.pk}/similar", {"member": other.pk}).status_code == 404
    assert APIClient().get(f"/api/v1/titles/{title.pk}/similar").status_code == 401


def test_similar_members_is_staff_only(api, member):
    path = f"/api/v1/lab/members/{member.pk}/similar"
    assert api.get(path).status_code == 403
    assert APIClient().get(path).status_code == 401


def test_similar_members_share_more_of_their_histories_than_random_members(
    client_for,
    eager,  # noqa: F811
):
    members, _ = clustered_log()
    retrain.apply().get()
    staff = client_for(AccountFactory(username="boss", is_staff=True))
    assert staff.get("/api/v1/lab/members/999999/similar").status_code == 404
    near, far = [], []
    for member in members[:6]:
        body = staff.get(f"/api/v1/lab/members/{member.pk}/similar", {"k": 5}).json()
        assert body["model_version"]["kind"] == "mf" and len(body["neighbours"]) == 5
        assert member.pk not in [n["member_id"] for n in body["neighbours"]]
        same_cluster = [(n["member_id"] - member.pk) % 2 == 0 for n in body["neighbours"]]
        assert sum(same_cluster) >= 4  # members alternate between the two taste clusters
        near.append(body["neighbour_jaccard"])
        far.append(body["random_jaccard"])
        assert body["random_sample"] == len(members) - 1
    assert sum(near) / len(near) > 1.5 * sum(far) / len(far), (near, far)
