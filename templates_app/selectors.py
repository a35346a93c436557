"""Reads: look templates, versions and labels up, and resolve what a call refers to."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, Max, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from .engine.errors import NotFoundError
from .engine.labels import label_to_look_up, resolve_version
from .engine.rendering import CompiledBody, compiled_for
from .engine.ttl_advice import LoggedCall, ttl_advice
from .models import (
    MONEY_FIELDS,
    TOKEN_FIELDS,
    ApiKey,
    Invocation,
    InvocationRollup,
    Label,
    LabelMove,
    Template,
    TemplateAlias,
    Version,
    rollup_hour,
)

# Version fields a send does not read: the compiled body is cached per content hash.
HEAVY_VERSION_FIELDS = ("body", "lint")
# What a list of invocations does not show (InvocationOutputSerializer, the admin's list).
INVOCATION_LIST_DEFERRED = (
    "block_hashes",
    "prefix_variable_hashes",
    "usage_raw",
    "last_fingerprint",
    *(f"version__{field}" for field in HEAVY_VERSION_FIELDS),
    "template__description",
    "template__sample_variables",
)
HOUR = timedelta(hours=1)


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
    """Invocations, newest first (``id`` breaking ties), filtered by template (slug or
    alias), version, model, status, time; without the columns a list does not show."""
    invocations = Invocation.objects.select_related("template", "version").defer(
        *INVOCATION_LIST_DEFERRED
    )
    if template is not None:
        # The id itself, not a subquery: the planner then walks (template, time) in order.
        ids = list(templates_named(template).values_list("id", flat=True))
        invocations = invocations.filter(template_id__in=ids)
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


def invocation_column_values(*, column: str, since: datetime | None = None) -> list[str]:
    """The values ``column`` (``model``, ``provider``, ``label``) has taken since ``since``,
    read from the rollups: they outlive purged rows, so a value may match no row any more."""
    rollups = InvocationRollup.objects.all()
    if since is not None:
        rollups = rollups.filter(hour__gte=rollup_hour(since))
    return list(rollups.order_by(column).values_list(column, flat=True).distinct())


STATS_COUNTS = ("calls", "ok", "hits", "coalesce_led", "coalesce_waited", "writes_avoided")


def template_stats(
    *, template: Template, since: datetime | None = None, until: datetime | None = None
) -> list[dict[str, Any]]:
    """Per version: calls, errors, cache hit ratio, tokens by kind, cost and savings.

    Whole hours come from the rollups (kept when invocations are purged); a part of an hour
    at either end of ``since``..``until`` is added up from the logged rows."""
    whole, parts = stats_hours(since, until)
    by_version: dict[int, dict[str, Any]] = {}
    if whole is not None:
        rollups = _in_hours(InvocationRollup.objects.filter(template=template), *whole)
        _add_rows(by_version, rollups.values("version__number").annotate(**_rollup_sums()))
    for start, end in parts:
        logged = invocation_list(template=template.slug, since=start, until=end).order_by()
        _add_rows(by_version, logged.values("version__number").annotate(**logged_sums()))
    return [_stats_row(by_version[number]) for number in sorted(by_version, reverse=True)]


def _rollup_sums() -> dict[str, Any]:
    """The aggregates of rollups that ``template_stats`` reads (``logged_sums``' twin)."""
    names = (*STATS_COUNTS, *TOKEN_FIELDS, *MONEY_FIELDS, "write_avoided_usd")
    return {name: Sum(name) for name in names}


def logged_sums() -> dict[str, Any]:
    """The aggregates of logged rows that ``template_stats`` reads: what the rollups add up."""
    return {
        "calls": Count("id"),
        "ok": Count("id", filter=Q(status=Invocation.Status.OK)),
        "hits": Count("id", filter=Q(cache_read_tokens__gt=0)),
        "coalesce_led": Count("id", filter=Q(coalesce=Invocation.Coalesce.LED)),
        "coalesce_waited": Count("id", filter=Q(coalesce=Invocation.Coalesce.WAITED)),
        "writes_avoided": Count("id", filter=Q(write_avoided_usd__isnull=False)),
        **{name: Sum(name) for name in (*TOKEN_FIELDS, *MONEY_FIELDS, "write_avoided_usd")},
    }


def stats_hours(
    since: datetime | None, until: datetime | None
) -> tuple[tuple[datetime | None, datetime | None] | None, list[tuple[datetime, datetime]]]:
    """``since``..``until`` split into whole UTC hours (``None``: not one) and the parts of
    an hour left at its ends."""
    first = None if since is None else _hour_up(since)
    last = None if until is None else rollup_hour(until)
    if since is not None and until is not None and first >= last:
        return None, [(since, until)] if since < until else []
    parts = [(since, first)] if since is not None and first != since else []
    if until is not None and last != until:
        parts.append((last, until))
    return (first, last), parts


def _hour_up(at: datetime) -> datetime:
    hour = rollup_hour(at)
    return hour if hour == at else hour + HOUR


def _in_hours(
    rollups: QuerySet[InvocationRollup], first: datetime | None, last: datetime | None
) -> QuerySet[InvocationRollup]:
    if first is not None:
        rollups = rollups.filter(hour__gte=first)
    if last is not None:
        rollups = rollups.filter(hour__lt=last)
    return rollups.order_by()


def _add_rows(into: dict[int, dict[str, Any]], rows: Iterable[dict[str, Any]]) -> None:
    """Add per-version aggregate ``rows`` into ``into``, field by field."""
    for row in rows:
        number = row["version__number"]
        total = into.setdefault(number, {"version__number": number})
        for name, value in row.items():
            if name != "version__number":
                total[name] = total.get(name, 0) + (value or 0)


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
        "coalescing": {
            "led": row["coalesce_led"],
            "waited": row["coalesce_waited"],
            "writes_avoided": row["writes_avoided"],
            "writes_avoided_usd": float(row["write_avoided_usd"] or 0),
        },
    }


# Besides cost and savings, what a day adds up in USD: the parts of its savings, and the
# writes cold-start coalescing avoided.
DAILY_MONEY = ("saved_gross_usd", "write_overhead_usd", "write_avoided_usd")


def template_daily_stats(
    template: Template, days: int = 30, *, today: date | None = None
) -> list[dict[str, Any]]:
    """One row per UTC day, oldest first, for the ``days`` days up to ``today``, empty days
    included: calls, cache hit ratio (``None`` without successful calls), tokens by kind,
    cost and savings in USD (``saved_usd`` net; ``saved_gross_usd`` from the calls that
    saved, ``write_overhead_usd`` (negative) from those that paid more for cache writes), and
    the writes cold-start coalescing avoided (``writes_avoided``, ``write_avoided_usd``)."""
    last = today or timezone.now().astimezone(UTC).date()
    first = last - timedelta(days=days - 1)
    rollups = _in_hours(
        InvocationRollup.objects.filter(template=template),
        datetime.combine(first, time.min, tzinfo=UTC),
        datetime.combine(last + timedelta(days=1), time.min, tzinfo=UTC),
    )
    sums = (
        "calls",
        "ok",
        "writes_avoided",
        *TOKEN_FIELDS,
        *MONEY_FIELDS,
        *DAILY_MONEY,
    )
    rows = (
        rollups.annotate(day=TruncDate("hour", tzinfo=UTC))
        .values("day")
        .annotate(hits=Sum("ok_hits"), **{name: Sum(name) for name in sums})
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
        "writes_avoided": row.get("writes_avoided") or 0,
        **{name: row.get(name) or 0 for name in TOKEN_FIELDS},
        **{name: float(row.get(name) or 0) for name in (*MONEY_FIELDS, *DAILY_MONEY)},
    }


def template_cache_entries(
    *, template: Template, since: datetime, exclude: Version | None = None
) -> int:
    """How many distinct cached prefixes (last checkpoint fingerprints) the template's
    successful calls used since ``since``: the cache entries an edit would make them rewrite.
    ``exclude`` leaves out one version's calls: a switch to it moves the others' traffic."""
    calls = Invocation.objects.filter(
        template=template, status=Invocation.Status.OK, created_at__gte=since
    )
    if exclude is not None:
        calls = calls.exclude(version=exclude)
    return (
        calls.exclude(last_fingerprint="").order_by().values("last_fingerprint").distinct().count()
    )


# The most distinct prefixes ``version_recent_uses`` reads, newest first.
RECENT_USES_MAX = 1_000


def version_recent_uses(
    *, version: Version, model: str, since: datetime
) -> list[tuple[datetime, list[dict[str, Any]]]]:
    """The last use of each distinct prefix the version's successful calls on ``model``
    sent since ``since``: ``(when, recorded checkpoints)``, for ``diffing.live_entries``.
    One call per last fingerprint stands for its prefix, whose earlier checkpoints it fixes."""
    latest = (
        Invocation.objects.filter(
            version=version, model=model, status=Invocation.Status.OK, created_at__gte=since
        )
        .exclude(last_fingerprint="")
        .order_by()
        .values("last_fingerprint")
        .annotate(used_at=Max("created_at"), latest_id=Max("id"))
        .order_by("-used_at")[:RECENT_USES_MAX]
    )
    used_at = {row["latest_id"]: row["used_at"] for row in latest}
    checkpoints = Invocation.objects.filter(pk__in=used_at).values_list("pk", "checkpoints")
    return [(used_at[pk], recorded) for pk, recorded in checkpoints]


# --- the TTL advisor ------------------------------------------------------------------------

TTL_ADVICE_WINDOW = timedelta(days=7)  # the recent traffic the advice reads by default
# The most calls one advice reads, newest first: its cost stays bounded on a busy template
# (the window then starts at the oldest call read, and ``truncated`` says so).
TTL_ADVICE_MAX_CALLS = 10_000
_MICROSECOND = timedelta(microseconds=1)
_DAY_MICROSECONDS = Decimal(86_400_000_000)


def template_ttl_advice(
    *,
    template: Template,
    since: datetime | None = None,
    until: datetime | None = None,
    max_calls: int = TTL_ADVICE_MAX_CALLS,
) -> dict[int, dict[str, Any]]:
    """Per version number, the TTL advisor's answer (``engine/ttl_advice.py``) from the
    template's successful calls in ``since``..``until`` (default: the last 7 days up to now),
    at most ``max_calls`` of them in all, newest first. A version without calls there has
    no entry: ``ttl_advice_empty`` is its answer."""
    calls = Invocation.objects.filter(template=template)
    return _ttl_advice(calls, since, until, max_calls)


def version_ttl_advice(
    *,
    version: Version,
    since: datetime | None = None,
    until: datetime | None = None,
    max_calls: int = TTL_ADVICE_MAX_CALLS,
) -> dict[str, Any]:
    """The TTL advisor's answer for one version (as ``template_ttl_advice``)."""
    calls = Invocation.objects.filter(template_id=version.template_id, version=version)
    found = _ttl_advice(calls, since, until, max_calls)
    return found.get(version.number) or ttl_advice_empty(since=since, until=until)


def ttl_advice_empty(
    *, since: datetime | None = None, until: datetime | None = None
) -> dict[str, Any]:
    """The answer for a version without successful calls in the window."""
    since, until = _ttl_window(since, until)
    return _ttl_answer([], since, until, truncated=False)


def _ttl_window(since: datetime | None, until: datetime | None) -> tuple[datetime, datetime]:
    until = until or timezone.now()
    return since or until - TTL_ADVICE_WINDOW, until


def _ttl_advice(
    calls: QuerySet[Invocation], since: datetime | None, until: datetime | None, max_calls: int
) -> dict[int, dict[str, Any]]:
    since, until = _ttl_window(since, until)
    # Only the columns the advice reads, newest first on the (template, time) index, so a
    # busy template costs at most ``max_calls`` rows.
    rows = (
        calls.filter(status=Invocation.Status.OK, created_at__gte=since, created_at__lt=until)
        .order_by("-created_at", "-id")
        .values_list("version_id", "created_at", "model", "checkpoints")[: max_calls + 1]
    )
    by_version: dict[int, list[LoggedCall]] = {}
    read, truncated, oldest = 0, False, until
    for version_id, at, model, checkpoints in rows.iterator(chunk_size=2000):
        if read == max_calls:
            # More calls than are read: the window analysed starts at the oldest call read.
            truncated, since = True, oldest
            break
        read, oldest = read + 1, at
        by_version.setdefault(version_id, []).append(LoggedCall(at, model, checkpoints or []))
    numbers = dict(Version.objects.filter(pk__in=by_version).values_list("pk", "number"))
    return {
        numbers[version_id]: _ttl_answer(version_calls, since, until, truncated=truncated)
        for version_id, version_calls in by_version.items()
    }


def _ttl_answer(
    calls: list[LoggedCall], since: datetime, until: datetime, *, truncated: bool
) -> dict[str, Any]:
    days = Decimal(max(until - since, timedelta(0)) // _MICROSECOND) / _DAY_MICROSECONDS
    return {
        "since": since,
        "until": until,
        "truncated": truncated,
        **ttl_advice(calls, days=days),
    }


def template_stats_with_ttl_advice(
    *, template: Template, since: datetime | None = None, until: datetime | None = None
) -> list[dict[str, Any]]:
    """``template_stats``, each version's row with its ``ttl_advice`` (over the same
    ``since``..``until``; without ``since``, the last 7 days of it)."""
    rows = template_stats(template=template, since=since, until=until)
    window_since, window_until = _ttl_window(since, until)
    advice = template_ttl_advice(template=template, since=window_since, until=window_until)
    for row in rows:
        row["ttl_advice"] = advice.get(row["version"]) or ttl_advice_empty(
            since=window_since, until=window_until
        )
    return rows


# --- across templates: the admin's overview and template list ---------------------------------

# The most logged calls ``template_miss_counts`` reads, newest first: one bounded read of the
# time index, however busy the log.
MISS_COUNT_MAX_CALLS = 10_000


def rollup_window_start(window: timedelta, *, now: datetime | None = None) -> datetime:
    """The start of the UTC hour ``window`` before ``now``: from there, whole rollup hours
    up to now (the last one still filling) hold every call of the window, so a read needs no
    logged row, and the stats API given it as ``since`` answers the same figures."""
    return rollup_hour((now or timezone.now()) - window)


def _whole_hours_since(since: datetime) -> QuerySet[InvocationRollup]:
    if rollup_hour(since) != since:
        raise ValueError(f"{since.isoformat()} is not the start of a UTC hour")
    return _in_hours(InvocationRollup.objects.all(), since, None)


def _summed_row(row: dict[str, Any]) -> dict[str, Any]:
    """``_stats_row`` of aggregates over several versions: the stats API's figures."""
    stats = _stats_row({**row, "version__number": None})
    del stats["version"]
    return {**stats, "ok": row["ok"] or 0, "hits": row["hits"] or 0}


def rollup_totals(*, since: datetime) -> dict[str, Any]:
    """Every template's calls since ``since`` (the start of a UTC hour) up to now, added up
    as ``template_stats`` adds up a version's: calls, errors, cache hit ratio, tokens by kind
    (``cache_write_tokens`` among them), cost and savings; with ``ok`` and ``hits``, the
    counts the hit ratio divides."""
    row = _whole_hours_since(since).aggregate(**_rollup_sums())
    return _summed_row({name: value or 0 for name, value in row.items()})


def templates_stats(
    *, since: datetime, template_ids: Iterable[int] | None = None
) -> list[dict[str, Any]]:
    """Per template with calls since ``since`` (the start of a UTC hour) up to now, costliest
    first: ``template_id``, ``slug``, ``name`` and ``rollup_totals``' figures for it alone.
    One query; ``template_ids`` narrows it to those templates."""
    rollups = _whole_hours_since(since)
    if template_ids is not None:
        rollups = rollups.filter(template_id__in=list(template_ids))
    rows = (
        rollups.values("template_id", "template__slug", "template__name")
        .annotate(**_rollup_sums())
        .order_by("-cost_usd", "template__slug")
    )
    return [
        {
            "template_id": row.pop("template_id"),
            "slug": row.pop("template__slug"),
            "name": row.pop("template__name"),
            **_summed_row(row),
        }
        for row in rows
    ]


def template_miss_counts(
    *, since: datetime, reason: str, max_calls: int = MISS_COUNT_MAX_CALLS
) -> tuple[dict[int, dict[str, int]], bool]:
    """Per template, among the newest ``max_calls`` calls logged since ``since``: how many
    there were (``calls``) and how many missed the cache for ``reason`` (``missed``, an
    ``engine/misses.py`` reason); and whether ``max_calls`` were read (older ones were not)."""
    newest = (
        Invocation.objects.filter(created_at__gte=since)
        .order_by("-created_at", "-id")
        .values("id")[:max_calls]
    )
    rows = (
        Invocation.objects.filter(pk__in=newest)
        .order_by()
        .values("template_id")
        .annotate(calls=Count("id"), missed=Count("id", filter=Q(miss__reason=reason)))
    )
    counts = {row["template_id"]: {"calls": row["calls"], "missed": row["missed"]} for row in rows}
    return counts, sum(row["calls"] for row in counts.values()) >= max_calls


def template_label_numbers(*, template_ids: Iterable[int]) -> dict[int, list[tuple[str, int]]]:
    """Per template of ``template_ids`` with labels, each label's name and the number of its
    version, in name order (one query)."""
    rows = (
        Label.objects.filter(template_id__in=list(template_ids))
        .order_by("template_id", "name")
        .values_list("template_id", "name", "version__number")
    )
    found: dict[int, list[tuple[str, int]]] = {}
    for template_id, name, number in rows:
        found.setdefault(template_id, []).append((name, number))
    return found


def served_versions(*, template_ids: Iterable[int]) -> dict[int, tuple[Version, str | None]]:
    """Per template of ``template_ids`` with versions, the version a call naming neither
    version nor label is sent to (``engine.labels``' rule) and the label it comes through;
    the versions without their body. Two queries, however many templates."""
    default = label_to_look_up(None)
    labelled = Label.objects.filter(template_id=OuterRef("pk"), name=default).values("version_id")
    newest = Version.objects.filter(template_id=OuterRef("pk")).order_by("-number").values("id")
    candidates = (
        Template.objects.filter(pk__in=list(template_ids))
        .order_by()
        .values_list("pk", Subquery(labelled[:1]), Subquery(newest[:1]))
    )
    chosen: dict[int, tuple[int, str | None]] = {}
    for pk, by_label, latest in candidates:
        if latest is None:
            continue  # no versions yet: nothing is served
        chosen[pk] = resolve_version(
            slug="",
            version=None,
            label=None,
            by_number=lambda number: None,
            by_label=lambda name, found=by_label: found if name == default else None,
            latest=lambda found=latest: found,
        )
    versions = Version.objects.defer("body").in_bulk([pk for pk, _ in chosen.values()])
    return {
        template_id: (versions[version_id], label)
        for template_id, (version_id, label) in chosen.items()
        if version_id in versions
    }
