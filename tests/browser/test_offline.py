"""Every admin page works offline: nothing it loads or links to lives on another host.

Each page is opened in Chromium; every request it makes (scripts, styles, fonts, images,
fetches) must go to the live server, and no src/href/action in its HTML, as served or as
rendered by its scripts, may point at another host.
"""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest

from tests.browser.conftest import admin_id, api_call, goto, seed_template
from tests.factories import DOCUMENT, make_body

URL_ATTRIBUTES = {"src", "href", "srcset", "action", "formaction", "poster", "data", "xlink:href"}
LOCAL_SCHEMES = {"data", "blob", "about", "javascript", "mailto"}
SLUG = "offline-qa"


class UrlCollector(HTMLParser):
    """Every URL-valued attribute of an HTML document, with its tag."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in URL_ATTRIBUTES and value:
                candidates = value.split(",") if name == "srcset" else [value]
                for candidate in candidates:
                    if candidate.strip():
                        self.urls.append((tag, name, candidate.strip().split()[0]))


def foreign(url: str, home: str) -> bool:
    """Whether ``url`` leaves the live server (``home`` is its scheme://host:port)."""
    parts = urlsplit(url)
    if parts.scheme in LOCAL_SCHEMES:
        return False
    if not parts.netloc:  # relative, or the same host
        return False
    return f"{parts.scheme or urlsplit(home).scheme}://{parts.netloc}" != home


def foreign_links(html: str, home: str) -> list[str]:
    collector = UrlCollector()
    collector.feed(html)
    return [f"<{tag} {name}={url}>" for tag, name, url in collector.urls if foreign(url, home)]


@pytest.fixture
def seeded(api):
    """A template with two versions, production on v1, and one invocation logged on sim."""
    second = make_body()
    second["messages"][0]["content"][0]["text"] = "Answer from the contract; quote clauses."
    variables = {"document": DOCUMENT, "question": "Uptime?"}
    seed_template(api, SLUG, variables, (make_body(), second), {"production": 1})
    api_call(api, "POST", f"templates/{SLUG}/send", json={"variables": variables})


def page_paths(page) -> dict[str, str]:
    template = f"/admin/templates_app/template/{admin_id(page, SLUG)}"
    goto(page, "/admin/templates_app/invocation/", "invocation list")
    invocation = page.locator("#result_list a[href*='/invocation/']").first.get_attribute("href")
    return {
        "admin index": "/admin/",
        "template list": "/admin/templates_app/template/",
        "template add form": "/admin/templates_app/template/add/",
        "template change page": f"{template}/change/",
        "version editor": f"{template}/editor/",
        "diff page": f"{template}/diff/?a=1&b=2",
        "invocation list": "/admin/templates_app/invocation/",
        "invocation page": invocation,
        "API docs": "/api/docs/",
    }


def page_problems(page, name: str, path: str, home: str) -> list[str]:
    """What is wrong with one page: its status, requests to other hosts, links to them."""
    requested: list[str] = []

    def record(request) -> None:
        requested.append(request.url)

    page.on("request", record)
    response = page.goto(path, wait_until="networkidle")
    page.remove_listener("request", record)
    problems = []
    if response is None or response.status != 200:
        problems.append(f"answered {response and response.status}")
    if elsewhere := sorted({url for url in requested if foreign(url, home)}):
        problems.append(f"requested other hosts: {elsewhere}")
    if served := foreign_links(response.text() if response else "", home):
        problems.append(f"as served, points at other hosts: {served}")
    if rendered := foreign_links(page.content(), home):
        problems.append(f"as rendered, points at other hosts: {rendered}")
    return [f"{name} ({path}) {problem}" for problem in problems]


def test_no_admin_page_loads_anything_from_another_host(page, login, seeded, live_server, shot):
    home = live_server.url
    login_requests: list[str] = []

    def record(request) -> None:
        login_requests.append(request.url)

    page.on("request", record)
    login(page)
    page.remove_listener("request", record)
    problems = [f"the login flow requested {url}" for url in login_requests if foreign(url, home)]
    for name, path in page_paths(page).items():
        problems += page_problems(page, name, path, home)
        shot(page, name.replace(" ", "-"))
    assert not problems, "pages that are not self-contained:\n" + "\n".join(problems)


def test_the_url_check_catches_other_hosts():
    home = "http://localhost:8000"
    html = (
        '<script src="https://cdn.example.com/x.js"></script>'
        '<link href="//fonts.example.net/a.css" rel="stylesheet">'
        '<img srcset="/a.png 1x, http://img.example.org/b.png 2x">'
        '<a href="http://localhost:8000/admin/">home</a><img src="data:image/png;base64,AA">'
    )
    assert foreign_links(html, home) == [
        "<script src=https://cdn.example.com/x.js>",
        "<link href=//fonts.example.net/a.css>",
        "<img srcset=http://img.example.org/b.png>",
    ]
    assert not foreign("http://localhost:8000/static/admin/css/base.css", home)
    assert foreign("http://localhost:8001/", home)
