"""Reads: look templates, versions and labels up, and resolve what a call refers to."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from .engine.errors import NotFoundError
from .engine.labels import resolve_version
from .engine.rendering import CompiledBody, compiled_for
from .models import ApiKey, Invocation, Label, LabelMove, Template, TemplateAlias, Version

# Version fields a send does not read: the compiled body is cached per content hash.
HEAVY_VERSION_FIELDS = ("body", "lint")


def templates_named(name: str) -> QuerySet[Template]:
    """The template whose slug or one of whose aliases is ``name`` (at most one: an alias
    is no template's slug)."""
    aliased = TemplateAlias.objects.filter(alias=name).values("template_id")
    return Template.objects.filter(Q(slug=name) | Q(pk__in=aliased))


def template_get(*, slug: str) -> Template:
    """The template with ``slug``, or with ``slug`` among its aliases; ``NotFoundError``
    otherwise."""
    template = templates_named(slug).first()
    if template is None:
        raise NotFoundError(f"template '{slug}' not found")
    return template


def template_list() -> QuerySet[Template]:
    return Template.objects.order_by("slug")


def for_api_key(queryset: QuerySet[Any], *, api_key: ApiKey | None, via: str = "") -> QuerySet[Any]:
    """Only rows of the templates ``api_key`` is limited to (``via``: the path to the template).

    An unlimited key, or no key (a signed-in user), sees every row.
    """
    if api_key is None or not api_key.templates.exists():
        return queryset
    return queryset.filter(**{f"{via}api_keys": api_key})


def version_list(*, template: Template) -> QuerySet[Version]:
    return template.versions.order_by("-number")


def version_get(*, template: Template, number: int) -> Version:
    """Version ``number`` of ``template``; ``NotFoundError`` otherwise."""
    version = template.versions.filter(number=number).first()
    if version is None:
        raise NotFoundError(f"template '{template.slug}' has no version {number}")
    return version


def version_resolve(
    *, template: Template, version: int | None = None, label: str | None = None
) -> tuple[Version, str | None]:
    """The version a call means, and the label it came through (``engine.labels``' rule).

    The body and lint report are left unloaded: the compiled body is cached per content hash.
    """
    light = template.versions.defer(*HEAVY_VERSION_FIELDS)

    def by_label(name: str) -> Version | None:
        found = (
            template.labels.select_related("version")
            .defer(*(f"version__{field}" for field in HEAVY_VERSION_FIELDS))
            .filter(name=name)
            .first()
        )
        return found.version if found is not None else None

    return resolve_version(
        slug=template.slug,
        version=version,
        label=label,
        by_number=lambda number: light.filter(number=number).first(),
        by_label=by_label,
        latest=lambda: light.order_by("-number").first(),
    )


def version_compiled(*, version: Version) -> CompiledBody:
    """The compiled body of a stored version, from the per-process cache when there."""
    return compiled_for(version.content_hash, lambda: version.body_data)


def label_list(*, template: Template) -> QuerySet[Label]:
    return template.labels.select_related("version").order_by("name")


def label_history(*, template: Template, name: str | None = None) -> QuerySet[LabelMove]:
    moves = LabelMove.objects.filter(label__template=template)
    if name is not None:
        moves = moves.filter(label__name=name)
    return moves.select_related("label", "from_version", "to_version").order_by("-moved_at", "-id")


def invocation_list(
    *,
    template: str | None = None,
    version: int | None = None,
    model: str | None = None,
    status: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[Invocation]:
    """Invocations, newest first, filtered by template (slug or alias), version, model,
    status, time."""
    invocations = Invocation.objects.select_related("template", "version")
    if template is not None:
        invocations = invocations.filter(template__in=templates_named(template))
    if version is not None:
        invocations = invocations.filter(version__number=version)
    if model is not None:
        invocations = invocations.filter(model=model)
    if status is not None:
        invocations = invocations.filter(status=status)
    if since is not None:
        invocations = invocations.filter(created_at__gte=since)
    if until is not None:
        invocations = invocations.filter(created_at__lt=until)
    return invocations.order_by("-created_at", "-id")


TOKEN_FIELDS = (
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_5m_tokens",
    "cache_write_1h_tokens",
)
MONEY_FIELDS = ("cost_usd", "cost_without_cache_usd", "saved_usd")


def template_stats(
    *, template: Template, since: datetime | None = None, until: datetime | None = None
) -> list[dict[str, Any]]:
    """Per version: calls, errors, cache hit ratio, tokens by kind, cost and savings."""
    invocations = invocation_list(template=template.slug, since=since, until=until)
    rows = (
        invocations.order_by()
        .values("version__number")
        .annotate(
            calls=Count("id"),
            ok=Count("id", filter=Q(status=Invocation.Status.OK)),
            hits=Count("id", filter=Q(cache_read_tokens__gt=0)),
            **{name: Sum(name) for name in (*TOKEN_FIELDS, *MONEY_FIELDS)},
        )
        .order_by("-version__number")
    )
    return [_stats_row(row) for row in rows]


def _stats_row(row: dict[str, Any]) -> dict[str, Any]:
    tokens = {name: row[name] or 0 for name in TOKEN_FIELDS}
    prompt = (
        tokens["input_tokens"]
        + tokens["cache_read_tokens"]
        + tokens["cache_write_5m_tokens"]
        + tokens["cache_write_1h_tokens"]
    )
    return {
        "version": row["version__number"],
        "calls": row["calls"],
        "errors": row["calls"] - row["ok"],
        "cache_hit_ratio": round(row["hits"] / row["ok"], 4) if row["ok"] else None,
        "cached_token_ratio": round(tokens["cache_read_tokens"] / prompt, 4) if prompt else None,
        "tokens": {
            **tokens,
            "cache_write_tokens": tokens["cache_write_5m_tokens"] + tokens["cache_write_1h_tokens"],
        },
        "cost": {
            "usd": float(row["cost_usd"] or 0),
            "usd_without_cache": float(row["cost_without_cache_usd"] or 0),
            "saved_usd": float(row["saved_usd"] or 0),
        },
    }


def template_daily_stats(
    template: Template, days: int = 30, *, today: date | None = None
) -> list[dict[str, Any]]:
    """One row per UTC day, oldest first, for the ``days`` days up to ``today``, empty days
    included: calls, cache hit ratio (``None`` without successful calls), tokens by kind,
    cost and savings in USD (``saved_usd`` net; ``saved_gross_usd`` from the calls that
    saved, ``write_overhead_usd`` (negative) from those that paid more for cache writes)."""
    last = today or timezone.now().astimezone(UTC).date()
    first = last - timedelta(days=days - 1)
    rows = (
        Invocation.objects.filter(
            template=template,
            created_at__gte=datetime.combine(first, time.min, tzinfo=UTC),
            created_at__lt=datetime.combine(last + timedelta(days=1), time.min, tzinfo=UTC),
        )
        .annotate(day=TruncDate("created_at", tzinfo=UTC))
        .order_by()
        .values("day")
        .annotate(
            calls=Count("id"),
            ok=Count("id", filter=Q(status=Invocation.Status.OK)),
            hits=Count("id", filter=Q(status=Invocation.Status.OK, cache_read_tokens__gt=0)),
            # Before the sums named like their fields, which would shadow ``saved_usd``.
            saved_gross_usd=Sum("saved_usd", filter=Q(saved_usd__gt=0)),
            write_overhead_usd=Sum("saved_usd", filter=Q(saved_usd__lt=0)),
            **{name: Sum(name) for name in (*TOKEN_FIELDS, *MONEY_FIELDS)},
        )
    )
    by_day = {row["day"]: row for row in rows}
    return [
        _daily_row(first + timedelta(days=n), by_day.get(first + timedelta(days=n)))
        for n in range(days)
    ]


def _daily_row(day: date, row: dict[str, Any] | None) -> dict[str, Any]:
    row = row or {"calls": 0, "ok": 0, "hits": 0}
    return {
        "date": day,
        "calls": row["calls"],
        "ok": row["ok"],
        "hits": row["hits"],
        "hit_ratio": round(row["hits"] / row["ok"], 4) if row["ok"] else None,
        **{name: row.get(name) or 0 for name in TOKEN_FIELDS},
        **{
            name: float(row.get(name) or 0)
            for name in (*MONEY_FIELDS, "saved_gross_usd", "write_overhead_usd")
        },
    }


def template_cache_entries(*, template: Template, since: datetime) -> int:
    """How many distinct cached prefixes (last checkpoint fingerprints) the template's
    successful calls used since ``since``: the cache entries an edit would make them rewrite."""
    return (
        Invocation.objects.filter(
            template=template, status=Invocation.Status.OK, created_at__gte=since
        )
        .exclude(last_fingerprint="")
        .order_by()
        .values("last_fingerprint")
        .distinct()
        .count()
    )
