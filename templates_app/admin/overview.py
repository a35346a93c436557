"""The admin index's overview: spend, savings and caching across templates, the templates
costing most, and those whose caching is failing, with why.

Every figure comes from the hourly rollups (``selectors.rollup_totals``,
``selectors.templates_stats``) over windows that start on a whole UTC hour, so the page reads
no logged row for them and equals what ``GET /api/v1/templates/{slug}/stats?since=…`` answers
for the same start; the one read of the log, for prefix changes, is bounded
(``selectors.template_miss_counts``). ``install`` puts the page on an admin site's index.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib.admin import AdminSite
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from .. import selectors
from ..models import Template, Version
from ..sending.writer import invocations_visible
from . import formats

INDEX_TEMPLATE = "admin/templates_app/index.html"
# The figures' windows: (key, title, length).
WINDOWS = (
    ("24h", "Last 24 hours", timedelta(hours=24)),
    ("30d", "Last 30 days", timedelta(days=30)),
)
TOP_WINDOW = timedelta(days=30)  # the templates costing most, over this window
TOP_TEMPLATES = 10
# What "caching is failing" means, over the last FAILING_WINDOW.
FAILING_WINDOW = timedelta(hours=24)
LOW_HIT_RATIO = 0.5  # a cache hit ratio below this…
LOW_HIT_MIN_CALLS = 20  # …over at least this many successful calls
PREFIX_CHANGED = "prefix_changed"  # the miss reason of engine/misses.py
PREFIX_CHANGE_MIN_SHARE = 0.1  # prefix-change misses in at least this share of calls…
PREFIX_CHANGE_MIN_MISSES = 3  # …and at least this many of them
FAILING_SHOWN = 25  # the most failing templates listed (the rest are counted)
BELOW_MINIMUM = "below_minimum"  # the lint warning of a checkpoint that will not cache
NO_CHECKPOINT = "no_checkpoint"  # the lint warning of a body that marks nothing for caching
# Who sees the overview: it shows every template's spend.
PERMISSIONS = ("templates_app.view_template", "templates_app.view_invocation")


def install(site: AdminSite) -> None:
    """Open ``site``'s index on the overview (above the stock list of apps)."""
    stock = site.index

    def index(request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        return stock(request, extra_context={**overview_context(request), **(extra_context or {})})

    site.index = index  # type: ignore[method-assign]
    site.index_template = INDEX_TEMPLATE


def overview_context(request: HttpRequest) -> dict[str, Any]:
    """The index page's ``overview`` (None for staff who may not see invocations)."""
    if not request.user.has_perms(PERMISSIONS):
        return {"overview": None}
    invocations_visible()  # a send that has answered is counted, as the stats API counts it
    if not Template.objects.exists():
        return {"overview": {"empty": True, "add_url": _url("templates_app_template_add")}}
    windows = [_window(key, title, length) for key, title, length in WINDOWS]
    top_since = selectors.rollup_window_start(TOP_WINDOW)
    active = selectors.templates_stats(since=top_since)
    failing = _failing(active)
    return {
        "overview": {
            "empty": False,
            "windows": windows,
            "active": len(active),
            "top": [_top_row(row) for row in active[:TOP_TEMPLATES]],
            "top_since": top_since,
            "top_days": TOP_WINDOW.days,
            "failing": failing[:FAILING_SHOWN],
            "failing_more": max(len(failing) - FAILING_SHOWN, 0),
            "criteria": _criteria(),
            "invocations_url": _url("templates_app_invocation_changelist"),
        }
    }


def _window(key: str, title: str, length: timedelta) -> dict[str, Any]:
    since = selectors.rollup_window_start(length)
    totals = selectors.rollup_totals(since=since)
    return {
        "key": key,
        "title": title,
        "since": since,
        "since_iso": since.isoformat(),
        "calls": totals["calls"],
        "ok": totals["ok"],
        "cost_usd": formats.usd(totals["cost"]["usd"]),
        "saved_usd": formats.usd(totals["cost"]["saved_usd"]),
        "without_cache_usd": formats.usd(totals["cost"]["usd_without_cache"]),
        "hit_ratio": formats.percent(totals["cache_hit_ratio"]),
        "cache_write_tokens": formats.count(totals["tokens"]["cache_write_tokens"]),
        "cache_read_tokens": formats.count(totals["tokens"]["cache_read_tokens"]),
    }


def _top_row(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "slug": row["slug"],
        "name": row["name"],
        "url": _change_url(row["template_id"]),
        "calls": formats.count(row["calls"]),
        "cost_usd": formats.usd(row["cost"]["usd"]),
        "saved_usd": formats.usd(row["cost"]["saved_usd"]),
        "hit_ratio": formats.percent(row["cache_hit_ratio"]),
    }


def _failing(active: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The templates called in the last ``TOP_WINDOW`` (``active``, costliest first) whose
    caching fails, each with its reasons: a checkpoint below the model's minimum in the
    version a call is sent to by default, frequent prefix changes, a low hit ratio."""
    names = {row["template_id"]: row for row in active}
    served = selectors.served_versions(template_ids=names)
    failing_since = selectors.rollup_window_start(FAILING_WINDOW)
    recent = {row["template_id"]: row for row in selectors.templates_stats(since=failing_since)}
    misses, truncated = selectors.template_miss_counts(since=failing_since, reason=PREFIX_CHANGED)
    found = []
    for template_id, row in names.items():
        version, label = served.get(template_id, (None, None))
        reasons = [
            *_below_minimum(version, label),
            *_prefix_changes(misses.get(template_id), truncated),
            *_low_hit_ratio(recent.get(template_id), version),
        ]
        if reasons:
            found.append(
                {
                    "slug": row["slug"],
                    "name": row["name"],
                    "url": _change_url(template_id),
                    "invocations_url": _url("templates_app_invocation_changelist")
                    + f"?template__id__exact={template_id}",
                    "reasons": reasons,
                }
            )
    return found  # costliest first, as ``active`` is


def _below_minimum(version: Version | None, label: str | None) -> list[dict[str, str]]:
    if version is None:
        return []
    served = f"v{version.number} ({label})" if label else f"v{version.number}"
    return [
        {"code": BELOW_MINIMUM, "message": f"{served}: {warning['message']}"}
        for warning in (version.lint or {}).get("warnings", [])
        if warning.get("code") == BELOW_MINIMUM
    ]


def _prefix_changes(counts: dict[str, int] | None, truncated: bool) -> list[dict[str, str]]:
    if counts is None or not counts["calls"]:
        return []
    missed, calls = counts["missed"], counts["calls"]
    if missed < PREFIX_CHANGE_MIN_MISSES or missed / calls < PREFIX_CHANGE_MIN_SHARE:
        return []
    read = f" (of the newest {formats.count(selectors.MISS_COUNT_MAX_CALLS)} read)"
    return [
        {
            "code": PREFIX_CHANGED,
            "message": f"the prefix changed before {formats.count(missed)} of its "
            f"{formats.count(calls)} calls in the last {_hours(FAILING_WINDOW)}"
            f"{read if truncated else ''}: each of them wrote a new cache entry",
        }
    ]


def _low_hit_ratio(row: dict[str, Any] | None, version: Version | None) -> list[dict[str, str]]:
    if row is None or row["ok"] < LOW_HIT_MIN_CALLS or row["cache_hit_ratio"] is None:
        return []
    if row["cache_hit_ratio"] >= LOW_HIT_RATIO or _marks_nothing(version):
        return []
    return [
        {
            "code": "low_hit_ratio",
            "message": f"cache hit ratio {formats.percent(row['cache_hit_ratio'])} over "
            f"{formats.count(row['ok'])} successful calls in the last {_hours(FAILING_WINDOW)}, "
            f"below {formats.percent(LOW_HIT_RATIO)}",
        }
    ]


def _marks_nothing(version: Version | None) -> bool:
    """A body without checkpoints is not meant to hit the cache: its ratio says nothing."""
    warnings = (version.lint or {}).get("warnings", []) if version is not None else []
    return any(warning.get("code") == NO_CHECKPOINT for warning in warnings)


def _criteria() -> dict[str, str]:
    """The rules of the failing list, in the words the page shows."""
    window = _hours(FAILING_WINDOW)
    return {
        "below_minimum": "a checkpoint of the version served by default (production, else "
        "the latest) is below the model's minimum, so it never caches",
        "prefix_changed": f"the prefix changed before at least "
        f"{formats.percent(PREFIX_CHANGE_MIN_SHARE)} of its calls in the last {window}, and "
        f"before at least {PREFIX_CHANGE_MIN_MISSES}",
        "low_hit_ratio": f"its cache hit ratio is below {formats.percent(LOW_HIT_RATIO)} over "
        f"at least {LOW_HIT_MIN_CALLS} successful calls in the last {window}",
    }


def _hours(window: timedelta) -> str:
    return f"{int(window.total_seconds() // 3600)} hours"


def _change_url(template_id: int) -> str:
    return reverse("admin:templates_app_template_change", args=[template_id])


def _url(name: str) -> str:
    return reverse(f"admin:{name}")
