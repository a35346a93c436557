"""The model catalog in force, as the admin shows it: every profile and each figure's source."""

from __future__ import annotations

from typing import Any

from django.contrib.admin import AdminSite
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from gateway.catalog import PRICE_KINDS, ModelProfile, active_catalog

from ..models import Template
from . import formats

FIGURES = (
    ("min_tokens", "min tokens"),
    ("max_checkpoints", "checkpoints"),
    ("cacheable_fields", "cacheable"),
    ("max_cacheable_tokens", "cache cap"),
    ("ttls", "TTLs"),
    ("tokenizer", "tokenizer"),
    ("prices", "prices"),
    ("regional_surcharge", "regional"),
    ("rejected_params", "rejects"),
)


def _display(profile: ModelProfile, name: str) -> str:
    value = getattr(profile, name)
    if name == "cacheable_fields":
        return ", ".join(f for f in ("tools", "system", "messages") if f in value) or "nothing"
    if name in ("ttls", "rejected_params"):
        return ", ".join(value) or "–"
    if name in ("min_tokens", "max_cacheable_tokens"):
        return "–" if value is None else formats.count(value)
    if name == "regional_surcharge":
        return "–" if value == 1 else f"×{value}"
    return str(value)


def profile_row(profile: ModelProfile) -> dict[str, Any]:
    """One catalog row: the figures shown, and where each came from."""
    prices = [getattr(profile.prices, kind) for kind in PRICE_KINDS]
    return {
        "model": profile.model,
        "aliases": ", ".join(profile.aliases),
        "known": profile.known,
        "retired": profile.retired,
        "successor": profile.successor,
        "explicit_breakpoints": profile.explicit_breakpoints,
        "diagnostics": profile.diagnostics,
        "responses_api": profile.api == "responses",
        "figures": [
            {"name": label, "value": _display(profile, name), "source": profile.sources.get(name)}
            for name, label in FIGURES
            if name != "prices"
        ],
        "prices": ["?" if price is None else formats.usd(price) for price in prices],
        "prices_source": profile.sources.get("prices", ""),
        "notes": profile.notes,
        "borrows": profile.borrows,
    }


def catalog_view(request: HttpRequest, admin_site: AdminSite) -> HttpResponse:
    """The catalog in force: its version, its files, and every profile with its sources."""
    catalog = active_catalog()
    context = {
        **admin_site.each_context(request),
        "title": "Model catalog",
        "opts": Template._meta,
        "catalog": catalog,
        "price_kinds": PRICE_KINDS,
        "rows": [profile_row(profile) for profile in catalog.profiles],
    }
    return TemplateResponse(request, "admin/templates_app/catalog.html", context)
