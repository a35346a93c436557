"""Writes and flows: create templates and versions, move labels, render."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from asgiref.sync import async_to_sync
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from gateway.catalog import Prices, get_profile
from gateway.errors import GatewayError
from gateway.registry import client_class, provider_of, translate, unavailable
from gateway.tokens import block_tokens
from gateway.types import TTL_SECONDS, ChatRequest, Message, effective_ttl, iter_blocks

from .engine.canonical import block_text
from .engine.diffing import diff_bodies, live_entries, live_summary, rewrite_estimate
from .engine.errors import CachetError, ConflictError, LintError, PermissionDeniedError
from .engine.labels import label_name_problem
from .engine.lint import lint
from .engine.names import SLUG_MAX_LENGTH, SLUG_RULE, is_slug
from .engine.rendering import (
    CompiledBody,
    Limits,
    RenderResult,
    body_text,
    compile_body,
    continue_render,
    render,
)
from .engine.splice import PrefixCache, render_spliced
from .engine.ttl_advice import ttl_hints
from .models import (
    ApiKey,
    Invocation,
    Label,
    LabelMove,
    Template,
    TemplateAlias,
    Version,
    alias_conflicts,
    alias_list_problem,
    caches_invalidate,
    slug_alias_problem,
)
from .selectors import (
    template_cache_entries,
    version_compiled,
    version_get,
    version_recent_uses,
    version_resolve,
    version_ttl_advice,
)


@transaction.atomic
def template_create(
    *,
    slug: str,
    name: str,
    description: str = "",
    sample_variables: dict[str, Any] | None = None,
    aliases: list[str] | None = None,
) -> Template:
    """Create a template (with its ``aliases``); ``ConflictError`` when the slug is taken,
    by a template or as an alias, and ``CachetError`` for an alias it cannot have."""
    if not is_slug(slug):
        raise CachetError(f"'{slug[:120]}' is not a slug: up to {SLUG_MAX_LENGTH} {SLUG_RULE}")
    if Template.objects.filter(slug=slug).exists():
        raise ConflictError(f"a template with slug '{slug}' already exists")
    problem = slug_alias_problem(slug)
    if problem is not None:
        raise ConflictError(problem)
    try:
        with transaction.atomic():
            template = Template.objects.create(
                slug=slug,
                name=name,
                description=description,
                sample_variables=sample_variables or {},
            )
    except IntegrityError:
        raise ConflictError(f"a template with slug '{slug}' already exists") from None
    if aliases:
        template_aliases_set(template=template, aliases=aliases)
    return template


@transaction.atomic
def template_update(
    *, template: Template, aliases: list[str] | None = None, **fields: Any
) -> Template:
    """Edit a template's metadata (name, description, sample variables) and, when given,
    replace its aliases."""
    for key, value in fields.items():
        setattr(template, key, value)
    template.save(update_fields=[*fields, "updated_at"])
    if aliases is not None:
        template_aliases_set(template=template, aliases=aliases)
    return template


@transaction.atomic
def template_aliases_set(*, template: Template, aliases: list[str]) -> list[str]:
    """Make ``aliases`` the whole set of the template's aliases; return them, sorted.

    Raises ``CachetError`` naming the first alias that is malformed, listed twice, some
    template's slug, or already another template's alias (naming that template).
    """
    problem = alias_list_problem(aliases)
    if problem is not None:
        alias, message = problem
        raise CachetError(message, details={"alias": alias})
    # Lock the template row: concurrent replacements of one template's set take turns.
    Template.objects.select_for_update().filter(pk=template.pk).first()
    conflicts = alias_conflicts(aliases, template_id=template.pk)
    for alias in aliases:
        if alias in conflicts:
            raise CachetError(conflicts[alias], details={"alias": alias})
    kept = set(aliases)
    template.aliases.exclude(alias__in=kept).delete()
    have = set(template.aliases.values_list("alias", flat=True))
    try:
        with transaction.atomic():
            TemplateAlias.objects.bulk_create(
                TemplateAlias(template=template, alias=alias)
                for alias in aliases
                if alias not in have
            )
    except IntegrityError:
        # Another template took one of them since the check above.
        taken = alias_conflicts(aliases, template_id=template.pk)
        alias = next((a for a in aliases if a in taken), aliases[0])
        message = taken.get(alias, f"alias '{alias}' is already used by another template")
        raise CachetError(message, details={"alias": alias}) from None
    caches_invalidate()  # bulk_create sends no post_save
    template.save(update_fields=["updated_at"])
    return sorted(kept)


def api_key_revoke(*, keys: QuerySet[ApiKey]) -> int:
    """Revoke the keys of ``keys`` not revoked yet; return how many. Every process refuses
    them within ``CACHE_BOUND_SECONDS`` (``update()`` sends no signal: the bump is here)."""
    count = keys.filter(revoked_at=None).update(revoked_at=timezone.now())
    caches_invalidate()
    return count


def render_limits() -> Limits:
    """The render limits of the settings (``CACHET_RENDER_TIMEOUT``, ``…_MAX_OUTPUT_CHARS``)."""
    return Limits(
        seconds=settings.CACHET["RENDER_TIMEOUT"],
        max_output_chars=settings.CACHET["RENDER_MAX_OUTPUT_CHARS"],
    )


def prefix_cache() -> PrefixCache | None:
    """This process's prefix cache, bounded by ``CACHET_PREFIX_CACHE_BYTES``; None when 0."""
    return _prefix_cache(settings.CACHET["PREFIX_CACHE_BYTES"])


@cache
def _prefix_cache(max_bytes: int) -> PrefixCache | None:
    return PrefixCache(max_bytes) if max_bytes > 0 else None


def version_lint(*, template: Template, body: Any, model: str | None = None) -> dict[str, Any]:
    """Lint a body (not stored) with the template's sample variables. Raises ``BodyError``."""
    return body_lint(body=body, sample_variables=template.sample_variables, model=model)


def body_lint(
    *, body: Any, sample_variables: dict[str, Any], model: str | None = None
) -> dict[str, Any]:
    """Lint a body with ``sample_variables``, as a stored version is. Raises ``BodyError``.

    When the model's provider can count tokens and is configured, checkpoints are
    counted exactly.
    """
    compiled = compile_body(body)
    target = model or compiled.body.model
    return lint(
        compiled,
        model=model,
        sample_variables=sample_variables,
        count_tokens=exact_counter(target),
        limits=render_limits(),
    )


def version_lint_stored(
    *, template: Template, version: Version, model: str | None = None
) -> dict[str, Any]:
    """Lint a stored version as ``version_lint`` does, adding a ``ttl_costs_more`` warning
    per checkpoint whose TTL costs more than the other on its last 7 days of traffic
    (``engine/ttl_advice.ttl_hints``)."""
    report = version_lint(template=template, body=version.body_data, model=model)
    report["warnings"] += ttl_hints(version_ttl_advice(version=version))
    return report


def version_create(
    *,
    template: Template,
    body: Any,
    message: str = "",
    author: str = "",
    report: dict[str, Any] | None = None,
) -> Version:
    """Validate, lint and store a new version numbered after the last one.

    Raises ``BodyError`` for a malformed body and ``LintError`` (with the report)
    when lint finds errors. Lint (which may call the provider to count tokens) runs
    before the transaction; numbers are allocated under a row lock, so concurrent
    creations get consecutive numbers with no gaps or duplicates. ``report`` is this
    body's lint with the template's sample variables when the caller has it already.
    """
    report = report or version_lint(template=template, body=body)
    if not report["ok"]:
        first = report["errors"][0]
        raise LintError(f"{first['path']}: {first['message']}", details=report)
    return _version_store(
        template=template,
        compiled=compile_body(body),
        message=message,
        author=author,
        report=report,
    )


@transaction.atomic
def _version_store(
    *, template: Template, compiled: CompiledBody, message: str, author: str, report: dict[str, Any]
) -> Version:
    Template.objects.filter(pk=template.pk).update(version_count=F("version_count") + 1)
    number = Template.objects.values_list("version_count", flat=True).get(pk=template.pk)
    return Version.objects.create(
        template=template,
        number=number,
        body=body_text(compiled.body.data),
        content_hash=compiled.content_hash,
        message=message,
        author=author,
        lint=report,
    )


def exact_counter(model: str) -> Callable[[ChatRequest], int] | None:
    """The provider's token counter for ``model``, when it has one and is configured."""
    try:
        provider = provider_of(model)
    except GatewayError:
        return None
    cls = client_class(provider)
    config = settings.GATEWAY
    # Asking the class builds nothing: no pool is opened just to learn a key is missing.
    if not hasattr(cls, "count_tokens") or unavailable(provider, config) is not None:
        return None

    async def count(request: ChatRequest) -> int:
        client = cls.from_config(config)
        try:
            if request.conversation:
                return await client.count_tokens(request)
            # The count API needs a message: count one, then take it away again.
            probe = Message("user", ".")
            full = await client.count_tokens(replace(request, messages=(*request.messages, probe)))
            alone = await client.count_tokens(replace(request, tools=(), messages=(probe,)))
            return full - alone
        finally:
            await client.aclose()

    return async_to_sync(count)


PROTECTED_LABEL_PERMISSION = "templates_app.move_protected_label"


def label_is_protected(label: str) -> bool:
    """Whether moving ``label`` needs the ``templates_app.move_protected_label`` permission."""
    return label in settings.CACHET["PROTECTED_LABELS"]


def label_move_check(
    *, template: Template, label: str, version: int, protected_allowed: bool = True
) -> Version:
    """The version a move of ``label`` to ``version`` would point it at, checked before
    anything is written (or paid for: a warm-up goes first).

    Raises ``PermissionDeniedError`` for a protected label (``CACHET["PROTECTED_LABELS"]``)
    unless ``protected_allowed``, ``NotFoundError`` for a missing version, and
    ``CachetError`` for a bad label name.
    """
    if label_is_protected(label) and not protected_allowed:
        raise PermissionDeniedError(
            f"'{label}' is a protected label: moving it needs the "
            "'Can move protected labels' permission"
        )
    problem = label_name_problem(label)
    if problem is not None:
        raise CachetError(problem)
    return version_get(template=template, number=version)


@transaction.atomic
def label_move(
    *,
    template: Template,
    label: str,
    version: int,
    moved_by: str = "",
    protected_allowed: bool = True,
) -> Label:
    """Point ``label`` at version ``version`` and record the move; rollback is a move back.
    Raises what ``label_move_check`` raises."""
    target = label_move_check(
        template=template, label=label, version=version, protected_allowed=protected_allowed
    )
    # Lock the template row: it serializes moves of a label that does not exist yet too.
    Template.objects.select_for_update().filter(pk=template.pk).first()
    current = Label.objects.filter(template=template, name=label).first()
    if current is None:
        current = Label.objects.create(
            template=template, name=label, version=target, updated_by=moved_by
        )
        LabelMove.objects.create(
            label=current, from_version=None, to_version=target, moved_by=moved_by
        )
        return current
    if current.version_id == target.pk:
        return current
    LabelMove.objects.create(
        label=current, from_version_id=current.version_id, to_version=target, moved_by=moved_by
    )
    current.version = target
    current.updated_at = timezone.now()
    current.updated_by = moved_by
    current.save(update_fields=["version", "updated_at", "updated_by"])
    return current


REWRITE_WINDOW = timedelta(hours=24)  # recent traffic, for the cache entries a change rewrites
LIVE_WINDOW = timedelta(seconds=max(TTL_SECONDS.values()))  # no entry outlives the longest TTL


def version_diff(*, template: Template, old: Version, new: Version) -> dict[str, Any]:
    """The diff from ``old`` to ``new``: blocks, params, variables, which checkpoints'
    prefixes change (each with the new version's lint estimate) and the one-time cost of
    writing them again at recent traffic (``rewrite``, USD as ``Decimal``), less the
    entries ``new`` still has live from its own recent calls."""
    before = version_compiled(version=old)
    after = version_compiled(version=new)
    diff = diff_bodies(before.body, after.body, new_prefix_variables=after.prefix_variables)
    lint_checkpoints = (new.lint or {}).get("checkpoints", [])
    by_ordinal = {c["ordinal"]: c for c in lint_checkpoints}
    for checkpoint in diff["checkpoints"]:
        checkpoint["lint"] = by_ordinal.get(checkpoint["ordinal"])
        checkpoint["ttl"] = effective_ttl((checkpoint["lint"] or {}).get("ttl"))
    model = (new.lint or {}).get("model") or after.body.model
    try:
        prices: Prices | None = get_profile(model).prices
    except GatewayError:
        prices = None
    now = timezone.now()
    entries = template_cache_entries(template=template, since=now - REWRITE_WINDOW, exclude=new)
    uses = version_recent_uses(version=new, model=model, since=now - LIVE_WINDOW)
    diff["rewrite"] = rewrite_estimate(
        impact=diff["checkpoints"],
        lint_checkpoints=lint_checkpoints,
        prices=prices,
        entries=entries,
        live=live_entries(uses, now=now),
    )
    diff["rewrite"]["model"] = model
    diff["summary"] = live_summary(diff["rewrite"]) or diff["summary"]
    return diff


@dataclass(frozen=True)
class Rendered:
    """A render of a stored version: what was rendered, and the provider wire request."""

    version: Version
    label: str | None
    result: RenderResult
    wire: dict[str, Any]


def template_render(
    *,
    template: Template,
    variables: dict[str, Any],
    version: int | None = None,
    label: str | None = None,
    model: str | None = None,
) -> Rendered:
    """Resolve the version, render it and translate it for the model's provider. Sends nothing."""
    resolved, label_name = version_resolve(template=template, version=version, label=label)
    resolved.template = template  # loaded already; async callers must not fetch it lazily
    return version_render(resolved, label_name, variables, model=model)


def version_render(
    version: Version,
    label: str | None,
    variables: dict[str, Any],
    *,
    model: str | None,
    conversation: tuple[Message, ...] = (),
    params: dict[str, Any] | None = None,
) -> Rendered:
    """Render a resolved version (its prefix from the process's prefix cache when there) and
    translate it for the model's provider; a caller's ``conversation`` follows the template's
    messages and its ``params`` override the body's."""
    compiled = version_compiled(version=version)
    result = render_spliced(
        compiled,
        variables,
        cache=prefix_cache(),
        model=model,
        version=version.number,
        limits=render_limits(),
    )
    if conversation or params:
        result = continue_render(result, conversation, params or {})
    return Rendered(version, label, result, wire_request(result.request))


def wire_request(request: ChatRequest) -> dict[str, Any]:
    """The provider's wire body for ``request``; what it cannot express is a ``CachetError``."""
    try:
        return translate(request)
    except ValueError as exc:
        raise CachetError(f"cannot be sent to {request.provider}: {exc}") from None


def version_preview(
    *,
    template: Template,
    body: Any,
    variables: dict[str, Any] | None = None,
    model: str | None = None,
) -> dict[str, Any]:
    """Lint and render an unsaved body for the editor: every block in provider order,
    whether it is cached, and each checkpoint's badge. Raises ``BodyError`` only."""
    compiled = compile_body(body)
    samples = template.sample_variables if variables is None else variables
    limits = render_limits()
    report = lint(compiled, model=model, sample_variables=samples, limits=limits)
    preview: dict[str, Any] = {
        # The hash the body would be stored under: the editor tells an unchanged body by it.
        "content_hash": compiled.content_hash,
        "lint": report,
        "blocks": [],
        "render_error": None,
        "fields": {f.path: f.block for f in compiled.body.fields},
    }
    if compiled.syntax_errors:
        return preview
    declared = {k: v for k, v in samples.items() if k in compiled.body.variables}
    try:
        result = render(compiled, declared, model=model, limits=limits)
    except (CachetError, GatewayError) as exc:
        preview["render_error"] = {"message": str(exc), "details": getattr(exc, "details", None)}
        return preview
    preview["blocks"] = preview_blocks(compiled, result)
    return preview


def preview_blocks(compiled: CompiledBody, result: RenderResult) -> list[dict[str, Any]]:
    """The rendered blocks in prefix order tools → system → messages, marked cached or not."""
    request = result.request
    checkpoints = {c.path: c for c in result.checkpoints}
    tokens = block_tokens(request, result.profile.tokenizer)
    roles = {f"messages[{i}]": m.role for i, m in enumerate(request.messages)}
    blocks = []
    for index, block in enumerate(iter_blocks(request)):
        checkpoint = checkpoints.get(block.path)
        blocks.append(
            {
                "path": block.path,
                "section": block.section,
                "role": roles.get(block.path.split(".")[0], "tool"),
                "text": block_text(request, block.path) or "",
                "tokens": tokens[index],
                "cached": index <= compiled.body.prefix_end,
                "checkpoint": asdict(checkpoint) if checkpoint else None,
            }
        )
    return blocks


PURGE_BATCH = 5000


def invocations_purge(*, before: datetime, batch: int = PURGE_BATCH) -> int:
    """Delete the invocation rows created before ``before``, oldest first, ``batch`` rows a
    transaction, so sends writing new rows never wait long on a lock; the count deleted.
    Their hourly rollups stay: the stats and charts over past hours keep their figures."""
    if batch < 1:
        raise ValueError("batch must be at least 1")
    deleted = 0
    while True:
        with transaction.atomic():
            ids = list(
                Invocation.objects.filter(created_at__lt=before)
                .order_by("created_at", "id")
                .values_list("id", flat=True)[:batch]
            )
            if not ids:
                return deleted
            Invocation.objects.filter(id__in=ids).delete()
        deleted += len(ids)


def invocations_to_purge(*, before: datetime) -> int:
    """How many invocation rows ``invocations_purge`` would delete (a dry run)."""
    return Invocation.objects.filter(created_at__lt=before).count()
