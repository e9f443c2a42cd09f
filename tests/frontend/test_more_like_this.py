"""The detail panel's "More like this" row in headless Chromium: titles nearest by the
serving model's stored embeddings, said so under the heading, each opening in the panel."""

import pytest
from playwright.sync_api import expect

from modeling.embeddings import embeddings_store
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
    genre = {t.pk: t.genres.get().name for t in titles}
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
        assert len(shown) == 8 and opened not in shown
        assert sum(genre[i] == genre[opened] for i in shown) >= 6
        problems = accessibility_problems(page)
        similar.locator(".tile").first.click()  # opens in the same panel
        expect(page.locator(".detail-panel .detail-name")).to_have_text(
            next(t.name for t in titles if t.pk == shown[0])
        )
        expect(page.locator(".detail-panel .detail-why")).to_contain_text("More like")
        assert console.problems == []
    assert problems == []
