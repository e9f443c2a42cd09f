"""The detail panel's "More like this" row in headless Chromium: titles nearest by the
serving model's stored embeddings, said so under the heading, each opening in the panel."""

import pytest
from playwright.sync_api import expect

from catalog.models import Title
from modeling.embeddings import embeddings_store
from modeling.selectors import title_similar
from modeling.services import retrain_execute, retrain_run_create
from tests.frontend.browser import accessibility_problems, browser_page, sign_in
from tests.frontend.test_homepage import pick
from tests.platform.modeling.test_services import clustered_log

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_detail_panel_shows_more_like_this_from_the_embeddings(live_server, chromium_path):
    members, titles = clustered_log()
    run = retrain_execute(run_id=retrain_run_create(trigger="test").pk)
    assert run.promoted.kind == "mf", run.error
    embeddings_store(version_id=run.promoted_id)
    ann = members[0]
    ann.account.set_password("viewer-password")
    ann.account.save()
    # What the selector answers for each title (the ORM cannot run inside Playwright's loop).
    nearest = {}
    for title in Title.objects.all():
        answer = title_similar(title=title, k=8)
        assert answer.source == "embeddings", answer.reason
        nearest[title.pk] = [t.pk for t, _ in answer.results]
    with browser_page(chromium_path) as (page, console):
        sign_in(page, live_server.url, ann.account.username, "viewer-password")
        pick(page, ann)
        tile = page.locator(".rows .tile").first
        opened = int(tile.get_attribute("data-title-id"))
        tile.click()
        similar = page.locator(".detail-panel .detail-similar")
        expect(similar).to_be_visible()
        expect(similar.locator(".detail-similar-title")).to_have_text("More like this")
        expect(similar.locator(".detail-similar-source")).to_contain_text(
            f"title embeddings of model v{run.promoted_id} (mf)"
        )
        shown = [int(i) for i in similar.locator(".tile").evaluate_all(
            "els => els.map(e => e.dataset.titleId)"
        )]  # fmt: skip
        # The panel shows the nearest titles by the stored embeddings, in their order: what
        # the selector answers (whether those are good neighbours is judged, against random
        # embeddings, by tests/platform/api/test_similar.py on 50 titles, not on these 8).
        assert shown == nearest[opened] and opened not in shown
        problems = accessibility_problems(page)
        similar.locator(".tile").first.click()  # opens in the same panel
        expect(page.locator(".detail-panel .detail-name")).to_have_text(
            next(t.name for t in titles if t.pk == shown[0])
        )
        expect(page.locator(".detail-panel .detail-why")).to_contain_text("More like")
        assert console.problems == []
    assert problems == []
