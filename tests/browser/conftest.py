"""Browser fixtures: Debian's Chromium driven by Playwright against pytest-django's live server.

Chromium comes from Debian (``apt-get install chromium``; ``scripts/test.sh`` installs it when
it runs as root), never from Playwright's own download. Without it the browser tests fail
when ``CI=true`` and are skipped, with the reason, everywhere else.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

try:
    from playwright.sync_api import Browser, Page, Response, expect, sync_playwright
    from playwright.sync_api import Error as PlaywrightError  # noqa: F401 - for the tests
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
except ImportError:  # reported by the ``browser`` fixture, with what to install
    sync_playwright = expect = None  # type: ignore[assignment]
    PlaywrightError = PlaywrightTimeoutError = Exception  # type: ignore[assignment,misc]

CHROMIUM = shutil.which("chromium") or (
    "/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else None
)
# As root, and on a machine whose network is closed: no sandbox, no background traffic.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 800}
USERNAME = "author"
PASSWORD = "correct-horse-battery-staple"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
TIMEOUT_MS = 10_000
if expect is not None:
    expect.set_options(timeout=TIMEOUT_MS)


def _unavailable(reason: str) -> None:
    """Fail in CI (a missing browser must never pass silently there); skip elsewhere."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"browser tests cannot run in CI: {reason}", pytrace=False)
    pytest.skip(f"browser tests skipped: {reason}")


@pytest.fixture
def author(transactional_db: None) -> Any:
    """A staff superuser with a known password."""
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_superuser(
        username=USERNAME, email="author@example.com", password=PASSWORD
    )


@pytest.fixture
def api_key(author: Any) -> str:
    """A raw bearer key for the REST API, created by the author."""
    from templates_app.models import ApiKey

    _, raw = ApiKey.generate(name="browser-tests", created_by=author)
    return raw


@pytest.fixture
def browser(author: Any, api_key: str) -> Iterator[Browser]:
    """Debian's Chromium under Playwright, one per test.

    Playwright's sync API keeps an asyncio loop running on this thread, and Django refuses
    ORM calls beside a running loop. So every ORM call of a test happens before the browser
    starts (``author`` and ``api_key`` are set up first), later data goes in over HTTP, and
    the browser is closed before pytest-django flushes the database. Django's guard stays on,
    so the live server still catches blocking ORM calls in async views.
    """
    if sync_playwright is None:
        _unavailable("the playwright package is missing: run scripts/setup.sh (.[test] extra)")
    if CHROMIUM is None:
        _unavailable(
            "no chromium on PATH or at /usr/bin/chromium: run `apt-get install chromium` "
            "as root (scripts/test.sh does it when it can)"
        )
    with sync_playwright() as driver:
        try:
            launched = driver.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS
            )
        except Exception as exc:  # any launch failure means the same thing here
            _unavailable(f"{CHROMIUM} did not start under Playwright: {exc}")
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, live_server: Any) -> Iterator[Page]:
    """A fresh page at 1280×800 with its own cookies, pointed at the live server."""
    context = browser.new_context(viewport=VIEWPORT, base_url=live_server.url)
    context.set_default_timeout(TIMEOUT_MS)
    opened = context.new_page()
    yield opened
    context.close()


@pytest.fixture
def login(author: Any) -> Callable[[Page], Page]:
    """``login(page)``: sign in through the admin login form; returns the page on the index."""

    def sign_in(page: Page) -> Page:
        response = page.goto("/admin/login/?next=/admin/")
        assert response is not None and response.ok, (
            f"admin login page: {response and response.status}"
        )
        page.fill("#id_username", USERNAME)
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_url(re.compile(r"/admin/$"))
        return page

    return sign_in


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Callable[[Page, str], Path]:
    """``shot(page, name)``: full-page screenshot to artifacts/screenshots/<test>-<NN-name>.png
    (artifacts/screenshots/postgresql/ on PostgreSQL)."""
    from django.db import connection

    test = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name).strip("_")
    steps = iter(range(1, 1000))
    # The PostgreSQL run (at the same time as the SQLite one) keeps its own in a subfolder.
    folder = SCREENSHOTS if connection.vendor == "sqlite" else SCREENSHOTS / connection.vendor
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob(f"{test}-*.png"):
        old.unlink(missing_ok=True)

    def take(page: Page, name: str) -> Path:
        path = folder / f"{test}-{next(steps):02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def api(live_server: Any, api_key: str) -> Iterator[httpx.Client]:
    """The live server's REST API with a bearer key, to seed data the way an app would."""
    with httpx.Client(
        base_url=f"{live_server.url}/api/v1/",
        headers={"Authorization": f"Bearer {api_key}"},
        timeout=30,
    ) as client:
        yield client


def api_call(client: httpx.Client, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
    """One API call that must succeed; its error body is the failure message otherwise."""
    response = client.request(method, url, **kwargs)
    assert response.is_success, f"{method} {url} -> {response.status_code}: {response.text[:2000]}"
    return response.json()


def goto(page: Page, path: str, what: str) -> Response:
    """Open ``path`` and insist on a 200, naming the page when it is not there (yet)."""
    response = page.goto(path)
    assert response is not None, f"{what}: no response for {path}"
    if response.status != 200:
        excerpt = " ".join(page.locator("body").inner_text().split())[:300]
        raise AssertionError(f"{what}: GET {path} answered {response.status}: {excerpt!r}")
    return response


def seed_template(
    api: httpx.Client,
    slug: str,
    sample_variables: dict[str, Any],
    bodies: tuple[dict[str, Any], ...] = (),
    labels: dict[str, int] | None = None,
) -> None:
    """A template with versions 1..n of ``bodies`` and ``labels``, made through the REST API."""
    api_call(
        api,
        "POST",
        "templates",
        json={
            "slug": slug,
            "name": slug.replace("-", " ").title(),
            "sample_variables": sample_variables,
        },
    )
    for number, body in enumerate(bodies, start=1):
        api_call(
            api, "POST", f"templates/{slug}/versions", json={"body": body, "message": f"v{number}"}
        )
    for label, version in (labels or {}).items():
        api_call(api, "PUT", f"templates/{slug}/labels/{label}", json={"version": version})


def admin_id(page: Page, slug: str) -> str:
    """The admin object id of template ``slug``, read off the template list."""
    goto(page, f"/admin/templates_app/template/?q={slug}", "template list")
    link = page.locator("#result_list a[href*='/template/']").first
    match = re.search(r"/template/(\d+)/change/", link.get_attribute("href") or "")
    assert match, f"no change link for template {slug!r} on the template list"
    return match.group(1)


def wait_for(page: Page, expression: str, what: str, timeout_ms: int = TIMEOUT_MS) -> None:
    """Wait until the JavaScript ``expression`` is truthy; fail naming what never happened."""
    try:
        page.wait_for_function(expression, timeout=timeout_ms)
    except PlaywrightTimeoutError:
        raise AssertionError(f"{what} (waited {timeout_ms / 1000:g}s for `{expression}`)") from None


def open_editor(page: Page, template_id: str, mode: str = "json") -> None:
    """The version editor of a template in ``mode`` (``json`` or ``structured``, the form),
    with its ``window.cachetEditor`` ready."""
    goto(page, f"/admin/templates_app/template/{template_id}/editor/?mode={mode}", "version editor")
    editor_ready(page)


def editor_ready(page: Page) -> None:
    """Wait for the editor page's ``window.cachetEditor``."""
    wait_for(
        page,
        "() => window.cachetEditor && typeof window.cachetEditor.setValue === 'function'",
        "the editor page never exposed window.cachetEditor.getValue()/.setValue(text)",
    )


def number(text: str) -> float:
    """The number in a displayed value such as '1,532', '$0.0041' or '-0.02 USD'; 0 if none."""
    match = re.search(r"-?\d[\d,]*(?:\.\d+)?|-?\.\d+", text)
    return float(match.group(0).replace(",", "")) if match else 0.0


def send_try_it(page: Page) -> dict[str, str]:
    """One send from the try-it panel; the fields of its result."""
    page.locator("#try-result").evaluate("el => el.setAttribute('data-ready', 'false')")
    page.click("#try-send")
    wait_for(
        page,
        "() => document.querySelector('#try-result').dataset.ready === 'true'",
        "the try-it send never completed (#try-result[data-ready=true])",
        timeout_ms=20_000,
    )
    error = page.locator("#try-error")
    if error.count() and error.is_visible():
        assert not error.inner_text().strip(), f"try-it send failed: {error.inner_text()!r}"
    fields = [
        "cache_write_tokens",
        "cache_write_1h_tokens",
        "cache_read_tokens",
        "saved_usd",
        "miss",
        "output",
    ]
    return {
        name: page.locator(f'#try-result [data-field="{name}"]').inner_text() for name in fields
    }
