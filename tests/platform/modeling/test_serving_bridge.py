"""What the serving and training bridges hand the recommender: features computed by the
model's own functions, the member's latest plays, titles that arrived after training."""

import uuid
from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

from events.models import Impression, Interaction
from homepage.services import homepage_build
from modeling import ranking, training
from modeling.selectors import production_version
from modeling.services import retrain_execute, retrain_run_create
from recommender import features as model_features
from tests.factories import TitleFactory
from tests.platform.modeling.test_services import clustered_log

pytestmark = pytest.mark.django_db


def play(member, title, at):
    Interaction.objects.create(
        event_id=uuid.uuid4(),
        type="play",
        member=member,
        title=title,
        watched_seconds=5000,
        occurred_at=at,
    )


def test_logged_impression_features_are_the_models_own_feature_functions():
    members, _ = clustered_log(n_members=4, n_titles=6, plays_each=2)
    at = timezone.now()
    homepage_build(member=members[0], at=at)
    impression = Impression.objects.filter(member=members[0]).first()
    title = impression.title
    expected_time = model_features.cyclic_time(at.timestamp())
    logged = impression.features
    assert np.allclose(
        [logged["hour_sin"], logged["hour_cos"], logged["week_sin"], logged["week_cos"]],
        expected_time,
        atol=1e-5,
    )
    assert logged["days_in_catalog"] == pytest.approx(
        float(model_features.days_in_catalog(at.timestamp(), title.added_at.timestamp())), abs=1e-3
    )
    assert logged["release_age_years"] == pytest.approx(
        float(model_features.release_age(at.timestamp(), title.release_date.year)), abs=1e-3
    )


def test_a_play_after_training_changes_the_history_models_scores(settings):
    settings.MODELING_CANDIDATES = ["ease"]
    members, titles = clustered_log()
    assert retrain_execute(run_id=retrain_run_create().pk).promoted.kind == "ease"
    member, now = members[0], timezone.now()
    other = [t for i, t in enumerate(titles) if i % 2 == 1]  # the cluster member 0 is not in
    before = ranking.rank_for_member(
        version=production_version(), member_id=member.pk, at=now, popularity={}
    )
    history = [(t.pk, now - timedelta(minutes=5 - i)) for i, t in enumerate(other[:4])]
    after = ranking.rank_for_member(
        version=production_version(), member_id=member.pk, at=now, popularity={}, history=history
    )
    unplayed = [t.pk for t in other[4:]]
    assert mean_rank(after.scores, unplayed) < mean_rank(before.scores, unplayed) - 5


def mean_rank(scores: dict[int, float], wanted: list[int]) -> float:
    order = sorted(scores, key=lambda t: -scores[t])
    return float(np.mean([order.index(t) for t in wanted]))


def test_a_model_without_metadata_serves_a_title_added_after_training_with_no_opinion(settings):
    """EASE cannot read metadata: a title added after training gets a zero column, so it
    scores 0 (no opinion) for everyone, and is still served (as the billboard's only new
    release, or in New Releases). Scoring a new
    title *from* its metadata is the transformer's job, tested below."""
    settings.MODELING_CANDIDATES = ["ease"]
    members, _ = clustered_log()
    retrain_execute(run_id=retrain_run_create().pk)
    now = timezone.now()
    newcomer = TitleFactory(genres=["Comedy"], added_at=now)
    result = ranking.rank_for_member(
        version=production_version(),
        member_id=members[0].pk,
        at=now,
        popularity={},
        history=[],
        catalog={newcomer.pk: newcomer},
    )
    assert result.scores[newcomer.pk] == 0.0 and not result.fallback
    page = homepage_build(member=members[0], at=now + timedelta(seconds=1))
    shown = {row.key: [slot.title.pk for slot in row.slots] for row in page.rows}
    assert newcomer.pk in shown.get("billboard", []) + shown.get("new_releases", []), shown


def test_gate_learns_titles_known_at_the_cut_and_adds_later_arrivals_before_judging():
    members, titles = clustered_log(n_members=6, n_titles=8, plays_each=4)
    newcomer = TitleFactory(added_at=timezone.now() - timedelta(minutes=1))
    play(members[0], newcomer, timezone.now())
    from catalog.selectors import title_available
    from modeling.dataset import plays_as_of
    from modeling.features import item_metadata

    data = training.to_interactions(plays_as_of(at=timezone.now()))
    items = item_metadata(title_available(at=timezone.now()))
    split = training.split_for_gate(data, items, holdout_fraction=0.2)
    assert str(newcomer.pk) in set(split.arrivals.item_ids)
    assert str(newcomer.pk) not in set(split.known.item_ids)
    model = training.trial_fit("ease", split, seed=0)
    assert str(newcomer.pk) not in model.item_ids
    training.holdout_metrics(model, split)
    assert str(newcomer.pk) in model.item_ids


def test_retrain_of_the_production_kind_warm_starts_from_production(settings, monkeypatch):
    settings.MODELING_CANDIDATES = ["mf"]
    members, titles = clustered_log()
    first = retrain_execute(run_id=retrain_run_create().pk).promoted
    starts = []
    real = training.candidate_fit

    def spy(kind, data, **kwargs):
        starts.append(kwargs.get("warm_start"))
        return real(kind, data, **kwargs)

    monkeypatch.setattr(training, "candidate_fit", spy)
    for i, member in enumerate(members):
        play(member, titles[i % len(titles)], timezone.now())
    run = retrain_execute(run_id=retrain_run_create().pk)
    assert run.status == "succeeded", run.error
    warm = [s for s in starts if s is not None]
    assert (
        len(warm) == 1
        and warm[0].item_ids == training.checkpoint_load(ranking.checkpoint_path(first)).item_ids
    )


def test_transformer_trains_serves_and_ranks_a_new_title_from_its_metadata(settings):
    """The transformer through the whole platform path: retrain, promote, serve a page, and
    embed a title added after training from its genres (the metadata tower)."""
    settings.MODELING_CANDIDATES = ["sasrec"]
    members, titles = clustered_log()
    run = retrain_execute(run_id=retrain_run_create().pk)
    assert run.status == "succeeded", run.error
    assert run.promoted.kind == "sasrec"
    member, now = members[0], timezone.now()
    page = homepage_build(member=member, at=now)
    assert page.ranking.version == run.promoted and not page.ranking.fallback
    assert page.rows[0].slots or page.rows[1].slots

    # Member 0 is in the Comedy cluster (clustered_log). Three comedies and three horror
    # titles arrive after training; from its genres alone, every new comedy must outrank
    # every new horror title for a member who has just watched comedies.
    newcomers = {
        genre: [TitleFactory(genres=[genre], added_at=now - timedelta(minutes=1)) for _ in "abc"]
        for genre in ("Comedy", "Horror")
    }
    comedies = [t for i, t in enumerate(titles) if i % 2 == 0][:4]
    history = [(t.pk, now - timedelta(hours=5 - i)) for i, t in enumerate(comedies)]
    result = ranking.rank_for_member(
        version=production_version(),
        member_id=member.pk,
        at=now,
        popularity={},
        history=history,
        catalog={t.pk: t for group in newcomers.values() for t in group},
    )
    liked = [result.scores[t.pk] for t in newcomers["Comedy"]]
    other = [result.scores[t.pk] for t in newcomers["Horror"]]
    assert min(liked) > max(other), (liked, other)


def test_a_model_that_fails_while_scoring_serves_popularity_and_says_why(monkeypatch):
    members, _ = clustered_log(n_members=6, n_titles=8, plays_each=4)
    retrain_execute(run_id=retrain_run_create().pk)
    loaded_model = ranking._load(production_version()).ranker.model

    def broken(*args, **kwargs):
        raise RuntimeError("scores went missing")

    monkeypatch.setattr(loaded_model, "score", broken)
    page = homepage_build(member=members[0], at=timezone.now())
    assert page.ranking.fallback and page.ranking.version is None
    assert "could not score this page: scores went missing" in page.ranking.fallback_reason
    assert any(row.slots for row in page.rows)
