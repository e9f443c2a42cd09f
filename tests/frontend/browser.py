"""Helpers for the browser tests: Debian's headless Chromium driven by Playwright, the
accessibility check (axe-core, pinned in frontend/package-lock.json, injected into the page),
console-error capture and the README's screenshots.

Playwright's sync API runs an event loop in this thread, and Django refuses ORM calls while
one runs: tests make their data before the browser opens and check the database after it
closes (or through the API from the page).
"""

import os
import shutil
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests
from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "frontend" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "docs" / "screenshots"
UPDATE_SCREENSHOTS = os.environ.get("HOMEPAGE_UPDATE_SCREENSHOTS") == "1"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WIDE = {"width": 1280, "height": 860}
NARROW = {"width": 390, "height": 844}  # a phone


@dataclass
class Console:
    """Everything the page said was wrong: console errors, uncaught exceptions, failed loads."""

    problems: list[str] = field(default_factory=list)

    def watch(self, page: Page) -> None:
        page.on("console", lambda m: m.type == "error" and self.problems.append(m.text))
        page.on("pageerror", lambda exc: self.problems.append(f"uncaught: {exc}"))


@contextmanager
def browser_page(chromium_path: str, viewport: dict = WIDE):
    """A fresh browser and page; yields (page, console)."""
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS
        )
        page = browser.new_page(viewport=viewport)
        console = Console()
        console.watch(page)
        try:
            yield page, console
        finally:
            browser.close()


def sign_in(page: Page, url: str, username: str, password: str) -> None:
    page.goto(url)
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click(".signin-button")


def accessibility_problems(page: Page) -> list[str]:
    """Serious and critical axe-core violations of the page as it is now, one line each."""
    assert AXE.is_file(), f"{AXE} missing: run `make npm` (npm ci in frontend/)"
    if not page.evaluate("typeof window.axe === 'object'"):
        page.add_script_tag(path=str(AXE))
    violations = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ['violations']})).violations
            .filter(v => v.impact === 'serious' || v.impact === 'critical')
            .map(v => `${v.impact} ${v.id}: ${v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', ')}`)"""
    )
    return list(violations)


def screenshot(
    page: Page, name: str, tmp_path: Path, *, keep_hover: bool = False, full_page: bool = False
) -> Path:
    """Save a screenshot under the test's folder, and into docs/screenshots/ when
    HOMEPAGE_UPDATE_SCREENSHOTS=1 (the README shows those; quantized to keep them small)."""
    path = tmp_path / f"{name}.png"
    if not keep_hover:
        page.mouse.move(1, 1)  # no hover card over the picture
    if full_page:  # a pinned header would be drawn where the window happens to be
        page.add_style_tag(content=".app-header { position: static !important; }")
    page.screenshot(path=str(path), full_page=full_page)
    if UPDATE_SCREENSHOTS:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        target = SCREENSHOTS / f"{name}.png"
        try:
            from PIL import Image

            with Image.open(path) as image:
                image.convert("RGB").quantize(colors=128).save(target, optimize=True)
        except ImportError:
            shutil.copyfile(path, target)
    return path


def api_status(page: Page, url: str) -> int:
    """The status of GET `url` with the token the page signed in with (sent from here, so
    the browser's console reports nothing about the refusal)."""
    token = page.evaluate("localStorage.getItem('homepage.token')")
    return requests.get(url, headers={"Authorization": f"Token {token}"}, timeout=30).status_code
