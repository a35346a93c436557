"""Templates, their immutable versions, labels with their history, API keys, and the
invocation log with its hourly rollups."""

from __future__ import annotations

import hashlib
import json
import math
import secrets
import threading
import time
from collections.abc import Callable, Hashable, Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import DEFAULT_DB_ALIAS, connection, connections, models, transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone

from .engine.labels import LABEL_MAX_LENGTH, LABEL_PATTERN, LABEL_RULE
from .engine.names import (
    ALIAS_MAX_LENGTH,
    ALIAS_PATTERN,
    ALIAS_RULE,
    SLUG_MAX_LENGTH,
    SLUG_PATTERN,
    SLUG_RULE,
    is_alias,
)

SLUG_VALIDATOR = RegexValidator(SLUG_PATTERN, SLUG_RULE)
LABEL_VALIDATOR = RegexValidator(LABEL_PATTERN, LABEL_RULE)
ALIAS_VALIDATOR = RegexValidator(ALIAS_PATTERN, f"up to {ALIAS_MAX_LENGTH} {ALIAS_RULE}")
KEY_PREFIX = "cachet_"


def qn(name: str) -> str:
    """A table or column name quoted for the database in use."""
    return connection.ops.quote_name(name)


class ImmutableVersionError(Exception):
    """Raised on any attempt to change or delete a stored version."""


class Template(models.Model):
    """A prompt template that apps reference by ``slug``."""

    slug = models.SlugField(max_length=SLUG_MAX_LENGTH, unique=True, validators=[SLUG_VALIDATOR])
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    sample_variables = models.JSONField(default=dict, blank=True)
    # Highest version number allocated so far; incremented under a row lock.
    version_count = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug

    def clean(self) -> None:
        problem = slug_alias_problem(self.slug)
        if problem is not None:
            raise ValidationError({"slug": problem})


def alias_problem(alias: str) -> str | None:
    """Why ``alias`` is not a well-formed template alias, or None."""
    if not is_alias(alias):
        return f"alias '{alias[:80]}' is not valid: up to {ALIAS_MAX_LENGTH} {ALIAS_RULE}"
    return None


def alias_list_problem(aliases: Iterable[str]) -> tuple[str, str] | None:
    """The first malformed or repeated alias of a list and what is wrong with it, or None."""
    seen: set[str] = set()
    for alias in aliases:
        problem = alias_problem(alias)
        if problem is not None:
            return alias, problem
        if alias in seen:
            return alias, f"alias '{alias}' is listed twice"
        seen.add(alias)
    return None


def alias_is_slug(alias: str) -> str:
    """The refusal of an alias that is a template's slug."""
    return f"alias '{alias}' is the slug of template '{alias}'"


def alias_conflicts(aliases: Iterable[str], *, template_id: int | None) -> dict[str, str]:
    """Which of ``aliases`` the template ``template_id`` cannot take, and why: an alias is
    unique across templates and is never any template's slug (its own included)."""
    # A malformed alias is its own error, and may hold what a query cannot (a NUL).
    wanted = {alias for alias in aliases if alias_problem(alias) is None}
    if not wanted:
        return {}
    problems = {
        slug: alias_is_slug(slug)
        for slug in Template.objects.filter(slug__in=wanted).values_list("slug", flat=True)
    }
    taken = TemplateAlias.objects.filter(alias__in=wanted).exclude(template_id=template_id)
    for alias, holder in taken.values_list("alias", "template__slug"):
        problems.setdefault(alias, f"alias '{alias}' is already used by template '{holder}'")
    return problems


def slug_alias_problem(slug: str) -> str | None:
    """Why ``slug`` cannot be a template's slug because it is an alias, or None."""
    if alias_problem(slug) is not None:
        return None  # no alias looks like it (and it may hold what a query cannot)
    holder = (
        TemplateAlias.objects.filter(alias=slug).values_list("template__slug", flat=True).first()
    )
    if holder is None:
        return None
    return f"slug '{slug}' is already an alias of template '{holder}'"


class TemplateAlias(models.Model):
    """Another name a template resolves by, like its slug (e.g. an imported ``pmpt_…`` id)."""

    template = models.ForeignKey(Template, on_delete=models.CASCADE, related_name="aliases")
    alias = models.CharField(max_length=ALIAS_MAX_LENGTH, unique=True, validators=[ALIAS_VALIDATOR])
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["alias"]

    def __str__(self) -> str:
        return self.alias

    def clean(self) -> None:
        problem = alias_conflicts([self.alias], template_id=self.template_id).get(self.alias)
        if problem is not None:
            raise ValidationError({"alias": problem})


class VersionQuerySet(models.QuerySet["Version"]):
    def update(self, **kwargs: Any) -> int:
        raise ImmutableVersionError("stored versions are immutable; create a new version")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise ImmutableVersionError("stored versions are never deleted")


class Version(models.Model):
    """An immutable snapshot of a template body. The database refuses updates too."""

    template = models.ForeignKey(Template, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    body = models.TextField(help_text="canonical JSON text of the body, LF line endings")
    content_hash = models.CharField(max_length=71)
    message = models.TextField(blank=True, default="")
    author = models.CharField(max_length=200, blank=True, default="")
    lint = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = VersionQuerySet.as_manager()

    class Meta:
        ordering = ["template", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["template", "number"], name="version_number_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.template.slug} v{self.number}"

    @property
    def body_data(self) -> dict[str, Any]:
        """The body as a dict, in its authored key order."""
        return json.loads(self.body)

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ImmutableVersionError("stored versions are immutable; create a new version")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ImmutableVersionError("stored versions are never deleted")


class Label(models.Model):
    """A named pointer to a version of the same template (``production``, ``staging``)."""

    template = models.ForeignKey(Template, on_delete=models.CASCADE, related_name="labels")
    name = models.CharField(max_length=LABEL_MAX_LENGTH, validators=[LABEL_VALIDATOR])
    version = models.ForeignKey(Version, on_delete=models.PROTECT, related_name="labels")
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        ordering = ["template", "name"]
        constraints = [
            models.UniqueConstraint(fields=["template", "name"], name="label_name_unique"),
        ]
        permissions = [("move_protected_label", "Can move protected labels")]

    def __str__(self) -> str:
        return f"{self.template.slug}@{self.name} → v{self.version.number}"


class LabelMove(models.Model):
    """One move of a label, kept forever: who moved it, from which version to which, when."""

    label = models.ForeignKey(Label, on_delete=models.CASCADE, related_name="moves")
    from_version = models.ForeignKey(
        Version, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    to_version = models.ForeignKey(Version, on_delete=models.PROTECT, related_name="+")
    moved_by = models.CharField(max_length=200, blank=True, default="")
    moved_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-moved_at", "-id"]

    def __str__(self) -> str:
        before = f"v{self.from_version.number}" if self.from_version else "(new)"
        return f"{self.label.name}: {before} → v{self.to_version.number}"


def hash_key(raw_key: str) -> str:
    """sha256 of an API key: keys are 256-bit random, so a fast hash is enough."""
    return hashlib.sha256(raw_key.encode("utf-8")).hexdigest()


def all_scopes() -> list[str]:
    """Every scope: the default for new keys, so a key does everything unless narrowed."""
    return list(ApiKey.Scope.values)


def validate_scopes(value: Any) -> None:
    """A list of known scope names."""
    if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
        raise ValidationError("scopes must be a list of scope names")
    unknown = sorted(set(value) - set(ApiKey.Scope.values))
    if unknown:
        known = ", ".join(ApiKey.Scope.values)
        raise ValidationError(f"unknown scope {', '.join(map(repr, unknown))}; known: {known}")


class ApiKey(models.Model):
    """A bearer key for the REST API. Only its hash is stored; the key is shown once.

    A key may use the endpoints of its scopes (``views.py`` maps each endpoint to one),
    only its ``templates`` when it has any, at most ``rate_limit`` requests a minute.
    """

    class Scope(models.TextChoices):
        READ = "read", "read: templates, versions, diffs, labels, invocations, stats"
        WRITE = "write", "write: create and edit templates, add versions, move labels"
        RENDER = "render", "render: render, lint and preview (sends nothing)"
        SEND = "send", "send: call the model provider"

    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, help_text="first characters, to recognise a key")
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    scopes = models.JSONField(
        default=all_scopes,
        blank=True,
        validators=[validate_scopes],
        help_text="what the key may do: read, write, render, send",
    )
    templates = models.ManyToManyField(
        Template,
        blank=True,
        related_name="api_keys",
        help_text="the only templates this key may use; none chosen: every template",
    )
    rate_limit_per_minute = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="requests a minute; empty: the default (CACHET_DEFAULT_RATE_LIMIT); 0: unlimited",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    _template_names: frozenset[str] | None = None

    class Meta:
        verbose_name = "API key"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @classmethod
    def by_hash(cls, key_hash: str) -> ApiKey | None:
        """The key with this hash (asked on every API call: plain SQL, no ORM compiling)."""
        sql = f"SELECT * FROM {qn(cls._meta.db_table)} WHERE key_hash = %s"  # noqa: S608
        return next(iter(cls.objects.raw(sql, [key_hash])), None)

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def rate_limit(self) -> int:
        """Requests a minute this key may make; 0 means unlimited."""
        if self.rate_limit_per_minute is None:
            return int(settings.CACHET["DEFAULT_RATE_LIMIT"])
        return self.rate_limit_per_minute

    def has_scope(self, scope: str) -> bool:
        return isinstance(self.scopes, list) and scope in self.scopes

    def template_slugs(self) -> set[str]:
        """The slugs of the templates this key is limited to; empty: every template."""
        # Asked on every API call: plain SQL, which costs a fraction of the ORM's compiling.
        links = ApiKey.templates.through._meta
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT t.slug FROM {qn(Template._meta.db_table)} t "  # noqa: S608
                f"JOIN {qn(links.db_table)} m ON m.template_id = t.id WHERE m.apikey_id = %s",
                [self.pk],
            )
            return {slug for (slug,) in cursor.fetchall()}

    def template_names(self) -> frozenset[str]:
        """The slugs and aliases of the templates this key is limited to; empty: every
        template (plain SQL, like ``template_slugs``; from memory after ``with_names``)."""
        if self._template_names is not None:
            return self._template_names
        links = ApiKey.templates.through._meta
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT t.slug FROM {qn(Template._meta.db_table)} t "  # noqa: S608
                f"JOIN {qn(links.db_table)} m ON m.template_id = t.id WHERE m.apikey_id = %s "
                f"UNION ALL SELECT a.alias FROM {qn(TemplateAlias._meta.db_table)} a "
                f"JOIN {qn(links.db_table)} m ON m.template_id = a.template_id "
                "WHERE m.apikey_id = %s",
                [self.pk, self.pk],
            )
            return frozenset(name for (name,) in cursor.fetchall())

    def with_names(self) -> ApiKey:
        """This key, its template names read now and answered from memory from then on
        (for a key kept by the send path's cache, which a change of them replaces)."""
        self._template_names = self.template_names()
        return self

    def issue(self) -> str:
        """Give this key a new secret; return the raw key, which is never stored."""
        raw = KEY_PREFIX + secrets.token_urlsafe(32)
        self.prefix = raw[: len(KEY_PREFIX) + 6]
        self.key_hash = hash_key(raw)
        return raw

    @classmethod
    def generate(
        cls,
        *,
        name: str,
        created_by: Any = None,
        scopes: list[str] | None = None,
        templates: Iterable[Template] = (),
        rate_limit_per_minute: int | None = None,
    ) -> tuple[ApiKey, str]:
        """Create a key (all scopes unless given); return it with the raw key, shown once."""
        key = cls(name=name, created_by=created_by, rate_limit_per_minute=rate_limit_per_minute)
        if scopes is not None:
            validate_scopes(scopes)
            key.scopes = [s for s in cls.Scope.values if s in scopes]
        raw = key.issue()
        with transaction.atomic():
            key.save()
            key.templates.set(templates)
        return key, raw


class InvocationQuerySet(models.QuerySet["Invocation"]):
    def bulk_create(self, objs: Iterable[Invocation], **kwargs: Any) -> list[Invocation]:
        """Insert ``objs`` and add them to their hourly rollups, in one transaction."""
        if kwargs.get("ignore_conflicts") or kwargs.get("update_conflicts"):
            raise ValueError("invocations are inserted once: a skipped row would miscount rollups")
        with transaction.atomic(using=self.db, savepoint=False):
            created = super().bulk_create(objs, **kwargs)
            rollups_add(created, using=self.db)
        return created


class Invocation(models.Model):
    """One logged send: what was sent, what came back, what it cost and why it missed.

    Provider secrets are never stored here. Variable values are stored unless the
    ``CACHET_LOG_VARIABLES`` setting says otherwise (see README). A row is written once:
    ``save`` of a new row and ``bulk_create`` add it to its ``InvocationRollup`` in the
    same transaction (an update or a delete leaves the rollups as they were).
    """

    class Status(models.TextChoices):
        OK = "ok"
        PROVIDER_ERROR = "provider_error"
        TIMEOUT = "timeout"
        UNAVAILABLE = "unavailable"
        CLIENT_DISCONNECTED = "client_disconnected"

    class Coalesce(models.TextChoices):
        """How the send took its turn on its cached prefix (``sending/coalescing.py``)."""

        LED = "led"  # the prefix was cold: it went first and wrote it
        WAITED = "waited"  # it waited for the send that led, then went
        ALONE = "alone"  # the prefix was warm, or nothing in it caches
        OFF = "off"  # cold, but coalescing is off (setting, or the body's opt-out)

    template = models.ForeignKey(Template, on_delete=models.PROTECT, related_name="invocations")
    version = models.ForeignKey(Version, on_delete=models.PROTECT, related_name="invocations")
    label = models.CharField(max_length=LABEL_MAX_LENGTH, blank=True, default="")
    model = models.CharField(max_length=300)
    provider = models.CharField(max_length=40)
    stream = models.BooleanField(default=False)
    status = models.CharField(max_length=24, choices=Status.choices)
    error_type = models.CharField(max_length=80, blank=True, default="")
    error_message = models.TextField(blank=True, default="")
    provider_status = models.PositiveIntegerField(null=True, blank=True)
    request_id = models.CharField(max_length=200, blank=True, default="")
    api_key = models.ForeignKey(ApiKey, on_delete=models.SET_NULL, null=True, blank=True)
    caller = models.CharField(max_length=200, blank=True, default="")
    checkpoints = models.JSONField(default=list)  # [{ordinal, path, ttl, fingerprint, tokens, ...}]
    last_fingerprint = models.CharField(max_length=71, blank=True, default="", db_index=True)
    block_hashes = models.JSONField(
        default=list
    )  # [[path, sha256 prefix], ...] up to the last checkpoint
    prefix_variable_hashes = models.JSONField(default=dict)
    variables = models.JSONField(null=True, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    input_tokens = models.PositiveIntegerField(null=True, blank=True)
    output_tokens = models.PositiveIntegerField(null=True, blank=True)
    cache_read_tokens = models.PositiveIntegerField(null=True, blank=True)
    cache_write_5m_tokens = models.PositiveIntegerField(null=True, blank=True)
    cache_write_1h_tokens = models.PositiveIntegerField(null=True, blank=True)
    usage_raw = models.JSONField(default=dict, blank=True)
    cost_usd = models.DecimalField(max_digits=18, decimal_places=10, null=True, blank=True)
    cost_without_cache_usd = models.DecimalField(
        max_digits=18, decimal_places=10, null=True, blank=True
    )
    saved_usd = models.DecimalField(max_digits=18, decimal_places=10, null=True, blank=True)
    miss = models.JSONField(null=True, blank=True)
    output_text = models.TextField(blank=True, default="")
    stop_reason = models.CharField(max_length=40, blank=True, default="")
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    coalesce = models.CharField(max_length=8, choices=Coalesce.choices, blank=True, default="")
    coalesce_wait_ms = models.PositiveIntegerField(null=True, blank=True)
    # What a follower that read the cache would have paid more had it written instead.
    write_avoided_usd = models.DecimalField(max_digits=18, decimal_places=10, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = InvocationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        # Every list is newest first with ``id`` breaking ties (keyset pages, the admin);
        # see docs/architecture.md, "The invocation log at scale", for adding one live.
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="invocation_time_id"),
            models.Index(
                fields=["template", "-created_at", "-id"], name="invocation_template_time_id"
            ),
            models.Index(
                fields=["status", "-created_at", "-id"],
                name="invocation_failed_time_id",
                condition=~models.Q(status="ok"),
            ),
            models.Index(
                fields=["template", "version", "label", "-created_at"],
                name="invocation_version_label",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.template.slug} v{self.version.number} {self.model} {self.status}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not (self._state.adding or kwargs.get("force_insert")):
            super().save(*args, **kwargs)
            return
        using = kwargs.get("using") or DEFAULT_DB_ALIAS
        with transaction.atomic(using=using):
            super().save(*args, **kwargs)
            rollups_add([self], using=using)

    @property
    def cache_write_tokens(self) -> int | None:
        if self.cache_write_5m_tokens is None and self.cache_write_1h_tokens is None:
            return None
        return (self.cache_write_5m_tokens or 0) + (self.cache_write_1h_tokens or 0)

    @property
    def usage(self) -> dict[str, int | None]:
        """Normalized usage; ``None`` where the provider did not say."""
        return {
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cache_read_tokens": self.cache_read_tokens,
            "cache_write_tokens": self.cache_write_tokens,
            "cache_write_5m_tokens": self.cache_write_5m_tokens,
            "cache_write_1h_tokens": self.cache_write_1h_tokens,
        }

    @property
    def cost(self) -> dict[str, float | None]:
        """What the call cost, would have cost without caching, and the difference (USD)."""
        values = (self.cost_usd, self.cost_without_cache_usd, self.saved_usd)
        usd, without, saved = (None if value is None else float(value) for value in values)
        return {"usd": usd, "usd_without_cache": without, "saved_usd": saved}


# What the send path keeps in each process (API keys, send targets) and how every process
# learns that it changed: docs/architecture.md, "Processes and shared state".
EPOCH_CHECK_SECONDS = 0.5  # how often a process asks the shared epoch, at most
CACHE_MAX_AGE_SECONDS = 60.0  # a backstop: no entry outlives this, whatever the epoch says
CACHE_BOUND_SECONDS = 1.0  # the documented bound on a change reaching every process
_EPOCH_ROW = 1
T = TypeVar("T")


class CacheEpoch(models.Model):
    """One row whose value every write of a cached fact bumps, once it is committed."""

    value = models.BigIntegerField(default=0)

    @classmethod
    def read(cls) -> int:
        """The shared epoch (0 before the first bump)."""
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT value FROM {qn(cls._meta.db_table)} WHERE id = %s",  # noqa: S608
                [_EPOCH_ROW],
            )
            row = cursor.fetchone()
        return 0 if row is None else int(row[0])

    @classmethod
    def bump(cls) -> None:
        """Add one to the shared epoch, making its row when there is none yet."""
        table = qn(cls._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (id, value) VALUES (%s, 1) "  # noqa: S608
                f"ON CONFLICT (id) DO UPDATE SET value = {table}.value + 1",
                [_EPOCH_ROW],
            )


class _ProcessEpoch:
    """This process's generation: a new one whenever the shared epoch is seen to change,
    a write is made here, or ``CACHE_MAX_AGE_SECONDS`` pass."""

    def __init__(self) -> None:
        self.generation = 0
        self.shared: int | None = None
        self.checked_at = -math.inf
        self.started_at = -math.inf
        self.lock = threading.Lock()

    def current(self) -> int:
        """The generation, asking the shared epoch first when the last answer is too old."""
        now = time.monotonic()
        if now - self.checked_at < EPOCH_CHECK_SECONDS:
            return self.generation
        with self.lock:
            if now - self.checked_at < EPOCH_CHECK_SECONDS:
                return self.generation  # another thread is asking
            self.checked_at = now
        try:
            shared = CacheEpoch.read()
        except BaseException:
            self.checked_at = -math.inf
            raise
        with self.lock:
            if shared != self.shared or now - self.started_at >= CACHE_MAX_AGE_SECONDS:
                self.shared = shared
                self._advance(now)
            return self.generation

    def forget(self) -> None:
        """Start a new generation now: every entry read before is stale."""
        with self.lock:
            self._advance(time.monotonic())

    def _advance(self, now: float) -> None:
        self.generation += 1
        self.started_at = now


_epoch = _ProcessEpoch()


def reads_are_committed() -> bool:
    """Whether this thread's reads see only committed rows: no transaction is open, but
    those a test case wraps itself in (which stand for the committed state in tests)."""
    return all(getattr(block, "_from_testcase", False) for block in connection.atomic_blocks)


class ProcessCache:
    """Entries kept by this process, each valid while the generation it was read under is.

    ``fetch`` takes the generation *before* it reads, so a row read just before a write
    commits is stamped with a generation that the write's bump ends.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._entries: dict[Hashable, tuple[int, Any]] = {}
        self._generation = 0
        self._lock = threading.Lock()

    def fetch(self, key: Hashable, read: Callable[[], T]) -> T:
        """The entry for ``key``, read (and kept) when there is no current one."""
        generation = _epoch.current()
        entry = self._entries.get(key)
        if entry is not None and entry[0] == generation:
            return entry[1]
        value = read()
        if reads_are_committed():
            self._keep(key, value, generation)
        return value

    def _keep(self, key: Hashable, value: Any, generation: int) -> None:
        with self._lock:
            if generation != _epoch.generation:
                return  # the world changed while it was read
            if self._generation != generation or len(self._entries) >= self.limit:
                self._entries.clear()
                self._generation = generation
            self._entries[key] = (generation, value)


def caches_forget() -> None:
    """Forget what this process has cached (its next reads go to the database)."""
    _epoch.forget()


def caches_invalidate() -> None:
    """A cached fact changed: this process forgets now, and once the transaction commits
    the shared epoch is bumped, so every process forgets within ``CACHE_BOUND_SECONDS``."""
    _epoch.forget()
    transaction.on_commit(_epoch_bump)


def _epoch_bump() -> None:
    CacheEpoch.bump()
    _epoch.forget()  # reads made here while the transaction was open are stale too


@receiver([post_save, post_delete], sender=Template)
@receiver([post_save, post_delete], sender=TemplateAlias)
@receiver([post_save, post_delete], sender=Label)
@receiver(post_save, sender=Version)
@receiver([post_save, post_delete], sender=ApiKey)
@receiver(m2m_changed, sender=ApiKey.templates.through)
def _cached_fact_changed(sender: type[models.Model], **kwargs: Any) -> None:
    """Saves and deletes of what the send path caches; ``QuerySet.update()`` and
    ``bulk_create`` send no signal, so their callers call ``caches_invalidate`` themselves."""
    caches_invalidate()


TOKEN_FIELDS = (
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_5m_tokens",
    "cache_write_1h_tokens",
)
MONEY_FIELDS = ("cost_usd", "cost_without_cache_usd", "saved_usd")
# What an hour of rollups is keyed by, and what it adds up.
ROLLUP_KEY = ("template_id", "version_id", "hour", "label", "model", "provider")
ROLLUP_SUMS = (
    "calls",
    "ok",
    "hits",
    "ok_hits",
    *TOKEN_FIELDS,
    *MONEY_FIELDS,
    "saved_gross_usd",
    "write_overhead_usd",
    "coalesce_led",
    "coalesce_waited",
    "writes_avoided",
    "write_avoided_usd",
)
# Buckets a statement, each one parameter a column: under SQLite's 999.
ROLLUP_UPSERT_ROWS = 999 // (len(ROLLUP_KEY) + len(ROLLUP_SUMS))


def _usd_field() -> models.DecimalField:
    return models.DecimalField(max_digits=24, decimal_places=10, default=Decimal(0))


class InvocationRollup(models.Model):
    """The invocations of one version in one UTC hour (per label, model and provider),
    added up: what the stats and the charts read. Purging invocations keeps these."""

    template = models.ForeignKey(Template, on_delete=models.CASCADE, related_name="rollups")
    version = models.ForeignKey(Version, on_delete=models.CASCADE, related_name="rollups")
    hour = models.DateTimeField(help_text="the start of the UTC hour")
    label = models.CharField(max_length=LABEL_MAX_LENGTH, blank=True, default="")
    model = models.CharField(max_length=300)
    provider = models.CharField(max_length=40)
    calls = models.PositiveBigIntegerField(default=0)
    ok = models.PositiveBigIntegerField(default=0, help_text="calls with status ok")
    hits = models.PositiveBigIntegerField(default=0, help_text="calls that read the cache")
    ok_hits = models.PositiveBigIntegerField(default=0, help_text="ok calls that read the cache")
    input_tokens = models.PositiveBigIntegerField(default=0)
    output_tokens = models.PositiveBigIntegerField(default=0)
    cache_read_tokens = models.PositiveBigIntegerField(default=0)
    cache_write_5m_tokens = models.PositiveBigIntegerField(default=0)
    cache_write_1h_tokens = models.PositiveBigIntegerField(default=0)
    cost_usd = _usd_field()
    cost_without_cache_usd = _usd_field()
    saved_usd = _usd_field()
    saved_gross_usd = _usd_field()  # from the calls that saved
    write_overhead_usd = _usd_field()  # from those that paid more for cache writes (negative)
    coalesce_led = models.PositiveBigIntegerField(
        default=0, help_text="calls that led a cold prefix"
    )
    coalesce_waited = models.PositiveBigIntegerField(
        default=0, help_text="calls that waited for the one that led"
    )
    writes_avoided = models.PositiveBigIntegerField(
        default=0, help_text="calls that waited, then read instead of writing"
    )
    write_avoided_usd = _usd_field()

    class Meta:
        ordering = ["template", "-hour"]
        constraints = [
            models.UniqueConstraint(
                fields=["template", "version", "hour", "label", "model", "provider"],
                name="rollup_bucket_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["template", "hour"], name="rollup_template_hour"),
            models.Index(fields=["hour"], name="rollup_hour"),
        ]

    def __str__(self) -> str:
        return f"{self.template_id} v{self.version_id} {self.hour:%Y-%m-%d %H}h {self.calls} calls"


def rollup_hour(at: datetime) -> datetime:
    """The start of the UTC hour ``at`` falls in."""
    if timezone.is_naive(at):
        at = timezone.make_aware(at, UTC)
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def rollup_values(invocation: Invocation) -> tuple[Any, ...]:
    """What one invocation adds to its rollup, in ``ROLLUP_SUMS`` order."""
    ok = invocation.status == Invocation.Status.OK
    read = (invocation.cache_read_tokens or 0) > 0
    saved = invocation.saved_usd or Decimal(0)
    return (
        1,
        int(ok),
        int(read),
        int(ok and read),
        *(getattr(invocation, name) or 0 for name in TOKEN_FIELDS),
        *(getattr(invocation, name) or Decimal(0) for name in MONEY_FIELDS),
        max(saved, Decimal(0)),
        min(saved, Decimal(0)),
        int(invocation.coalesce == Invocation.Coalesce.LED),
        int(invocation.coalesce == Invocation.Coalesce.WAITED),
        int(invocation.write_avoided_usd is not None),
        invocation.write_avoided_usd or Decimal(0),
    )


def rollups_add(invocations: Iterable[Invocation], *, using: str = DEFAULT_DB_ALIAS) -> None:
    """Add stored ``invocations`` to their hourly rollups (call inside their transaction)."""
    buckets: dict[tuple[Any, ...], list[Any]] = {}
    for invocation in invocations:
        key = (
            invocation.template_id,
            invocation.version_id,
            rollup_hour(invocation.created_at),
            invocation.label,
            invocation.model,
            invocation.provider,
        )
        sums = buckets.setdefault(key, [0] * len(ROLLUP_SUMS))
        for index, value in enumerate(rollup_values(invocation)):
            sums[index] += value
    rollups_upsert(buckets, using=using)


def rollups_upsert(
    buckets: dict[tuple[Any, ...], Sequence[Any]], *, using: str = DEFAULT_DB_ALIAS
) -> None:
    """Add ``buckets`` (``ROLLUP_KEY`` -> ``ROLLUP_SUMS``) to the rollups in place.

    One ``INSERT … ON CONFLICT DO UPDATE SET n = n + excluded.n`` per 40 buckets: the
    database adds under the row's lock, so writers in several processes never lose a
    count, and every writer locks buckets in key order, so two batches cannot deadlock.
    """
    db = connections[using]
    q = db.ops.quote_name
    table = q(InvocationRollup._meta.db_table)
    columns = [*ROLLUP_KEY, *ROLLUP_SUMS]
    fields = [InvocationRollup._meta.get_field(name.removesuffix("_id")) for name in columns]
    adds = ", ".join(f"{q(n)} = {table}.{q(n)} + excluded.{q(n)}" for n in ROLLUP_SUMS)
    row = "(" + ", ".join(["%s"] * len(columns)) + ")"
    ordered = sorted(buckets.items())
    for start in range(0, len(ordered), ROLLUP_UPSERT_ROWS):
        chunk = ordered[start : start + ROLLUP_UPSERT_ROWS]
        params = [
            field.get_db_prep_save(value, db)
            for key, sums in chunk
            for field, value in zip(fields, (*key, *sums), strict=True)
        ]
        with db.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} ({', '.join(q(n) for n in columns)}) "  # noqa: S608
                f"VALUES {', '.join([row] * len(chunk))} "
                f"ON CONFLICT ({', '.join(q(n) for n in ROLLUP_KEY)}) DO UPDATE SET {adds}",
                params,
            )
