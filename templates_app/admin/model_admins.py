"""Admin pages: templates with their versions and labels, label history, API keys.

Versions are read-only here: nothing in the admin edits or deletes a stored version.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any, ClassVar

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from gateway.types import effective_ttl

from .. import selectors, services
from ..models import ApiKey, Invocation, LabelMove, Template, TemplateAlias, Version, alias_is_slug
from . import catalog, editor, formats, pages, versions


class ReadOnlyMixin:
    """Records that are written by the system only: never added, changed or deleted here."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class TemplateAliasFormSet(forms.BaseInlineFormSet):
    """Aliases as the model checks them (``TemplateAlias.clean``), and none equal to the
    slug being saved with them, which the database does not know yet."""

    def clean(self) -> None:
        super().clean()
        slug = self.instance.slug
        for form in self.forms:
            data = getattr(form, "cleaned_data", None) or {}
            if data.get("alias") == slug and not data.get("DELETE"):
                form.add_error("alias", alias_is_slug(slug))


class TemplateAliasInline(admin.TabularInline):
    model = TemplateAlias
    formset = TemplateAliasFormSet
    fields = ["alias"]
    extra = 1
    verbose_name_plural = "aliases (other names the template resolves by, like its slug)"


LIST_STATS_WINDOW = timedelta(days=7)  # the template list's calls and savings


class TemplateChangeList(ChangeList):
    def get_results(self, request: HttpRequest) -> None:
        """The page's templates, each with its labels (``listed_labels``), the version served
        by default (``listed_served``) and its last 7 days of stats (``listed_stats``): read
        for the whole page at once, not row by row."""
        super().get_results(request)
        templates = list(self.result_list)  # the page's rows, fetched once and kept
        ids = [template.pk for template in templates]
        labels = selectors.template_label_numbers(template_ids=ids)
        served = selectors.served_versions(template_ids=ids)
        since = selectors.rollup_window_start(LIST_STATS_WINDOW)
        stats = {
            row["template_id"]: row
            for row in selectors.templates_stats(since=since, template_ids=ids)
        }
        for template in templates:
            template.listed_labels = labels.get(template.pk, [])
            template.listed_served = served.get(template.pk)
            template.listed_stats = stats.get(template.pk)


def lint_state(lint: dict[str, Any]) -> str:
    """A stored lint report in a word: ``ok``, ``2 warnings``, ``1 error``."""
    for kind in ("errors", "warnings"):
        found = len(lint.get(kind) or [])
        if found:
            return f"{found} {kind if found > 1 else kind[:-1]}"
    return "ok"


@admin.register(Template)
class TemplateAdmin(admin.ModelAdmin):
    list_display = [
        "slug",
        "alias_list",
        "name",
        "label_list",
        "served_model",
        "served_lint",
        "calls_7d",
        "saved_7d",
        "versions",
        "updated",
    ]
    search_fields = ["slug", "aliases__alias", "name", "description"]
    readonly_fields = ["version_count", "created_at", "updated_at"]
    inlines = [TemplateAliasInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Template]:
        return super().get_queryset(request).prefetch_related("aliases")

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return TemplateChangeList

    @admin.display(description="aliases")
    def alias_list(self, template: Template) -> str:
        return ", ".join(alias.alias for alias in template.aliases.all())

    @admin.display(description="labels")
    def label_list(self, template: Template) -> str:
        labels = getattr(template, "listed_labels", [])
        if not labels:
            return formats.NONE
        return format_html_join(", ", '<span class="nowrap">{} → v{}</span>', labels)

    @admin.display(description="model")
    def served_model(self, template: Template) -> str:
        served = getattr(template, "listed_served", None)
        if served is None:
            return formats.NONE
        version, label = served
        return format_html(
            '<span title="of v{}{}">{}</span>',
            version.number,
            f" ({label})" if label else "",
            (version.lint or {}).get("model") or formats.NONE,
        )

    @admin.display(description="lint")
    def served_lint(self, template: Template) -> str:
        served = getattr(template, "listed_served", None)
        if served is None:
            return formats.NONE
        lint = {"errors": [], "warnings": [], **(served[0].lint or {})}
        issues = [issue["message"] for kind in ("errors", "warnings") for issue in lint[kind]]
        return format_html('<span title="{}">{}</span>', "\n".join(issues), lint_state(lint))

    @admin.display(description="versions", ordering="version_count")
    def versions(self, template: Template) -> int:
        return template.version_count

    @admin.display(description="updated (UTC)", ordering="updated_at")
    def updated(self, template: Template) -> str:
        return template.updated_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M")

    @admin.display(description="calls, 7d")
    def calls_7d(self, template: Template) -> str:
        stats = getattr(template, "listed_stats", None)
        return formats.count(stats["calls"] if stats else 0)

    @admin.display(description="saved, 7d")
    def saved_7d(self, template: Template) -> str:
        stats = getattr(template, "listed_stats", None)
        return formats.usd(stats["cost"]["saved_usd"]) if stats else formats.NONE

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # its versions are kept forever

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Template | None = None,
    ) -> HttpResponse:
        # Versions, labels, "try it" and charts are shown below the form (change_form.html).
        if change and obj is not None:
            context.update(pages.template_page_context(request, obj))
        return super().render_change_form(request, context, add, change, form_url, obj)

    def get_urls(self) -> list[Any]:
        def page(view: Any) -> Any:
            def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
                return view(request, *args, admin_site=self.admin_site, **kwargs)

            return self.admin_site.admin_view(wrapped)

        return [
            path("catalog/", page(catalog.catalog_view), name="templates_app_catalog"),
            path(
                "<path:object_id>/editor/",
                page(editor.editor_view),
                name="templates_app_template_editor",
            ),
            path(
                "<path:object_id>/diff/",
                page(pages.diff_view),
                name="templates_app_template_diff",
            ),
            path(
                "<path:object_id>/labels/<str:label>/move/",
                page(pages.label_move_view),
                name="templates_app_template_label_move",
            ),
            *super().get_urls(),
        ]


@admin.register(Version)
class VersionAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """Stored versions, read-only: the body formatted, the lint report as lists, and the
    ways on (a new version from this one, a diff), none of which edits this one."""

    class Media:
        css = {"all": ["cachet/template_page.css", "cachet/records.css"]}
        js = ["cachet/copy.js"]

    list_display = ["template", "number", "author", "message", "created"]
    list_filter = ["template"]
    empty_value_display = formats.NONE
    fieldsets = [
        (
            None,
            {
                "fields": [
                    ("template", "number"),
                    ("author", "created"),
                    "message",
                    "content_hash_display",
                ]
            },
        ),
        ("Lint", {"fields": ["lint_report"]}),
        ("Body", {"fields": ["body_display"]}),
    ]
    readonly_fields = [
        "template",
        "number",
        "author",
        "created",
        "message",
        "content_hash_display",
        "lint_report",
        "body_display",
    ]

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Version | None = None,
    ) -> HttpResponse:
        if obj is not None:
            context.update(versions.version_actions(request, obj, self.admin_site))
        return super().render_change_form(request, context, add, change, form_url, obj)

    @admin.display(description="created (UTC)", ordering="created_at")
    def created(self, version: Version) -> str:
        return _utc(version.created_at)

    @admin.display(description="content hash")
    def content_hash_display(self, version: Version) -> str:
        return _copyable(version.content_hash)

    @admin.display(description="lint report")
    def lint_report(self, version: Version) -> str:
        return versions.lint_report(version)

    @admin.display(description="body")
    def body_display(self, version: Version) -> str:
        return format_html(
            '<pre class="cachet-pre cachet-body" id="version-body">{}</pre>',
            json.dumps(version.body_data, ensure_ascii=False, indent=2),
        )


@admin.register(LabelMove)
class LabelMoveAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["label", "from_version", "to_version", "moved_by", "moved_at"]
    # Every column's __str__ names a template; from_version is nullable, so the admin's
    # automatic select_related() would skip it and load it row by row.
    list_select_related = [
        "label__template",
        "label__version",
        "from_version__template",
        "to_version__template",
    ]
    list_filter = ["label__template", "label__name"]
    readonly_fields = ["label", "from_version", "to_version", "moved_by", "moved_at"]


class ApiKeyForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=ApiKey.Scope.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="what the key may do; none: nothing",
    )

    class Meta:
        model = ApiKey
        fields = ["name", "scopes", "templates", "rate_limit_per_minute"]

    def clean_scopes(self) -> list[str]:
        chosen = self.cleaned_data["scopes"]
        return [scope for scope in ApiKey.Scope.values if scope in chosen]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    form = ApiKeyForm
    list_display = [
        "name",
        "prefix",
        "scope_list",
        "template_list",
        "rate_limit_shown",
        "created_by",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "prefix"]
    readonly_fields = ["prefix", "created_by", "created_at", "last_used_at", "revoked_at"]
    fields = ["name", "scopes", "templates", "rate_limit_per_minute", *readonly_fields]
    filter_horizontal = ["templates"]
    actions = ["revoke"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ApiKey]:
        return super().get_queryset(request).prefetch_related("templates")

    @admin.display(description="scopes")
    def scope_list(self, key: ApiKey) -> str:
        return ", ".join(key.scopes) or "none"

    @admin.display(description="templates")
    def template_list(self, key: ApiKey) -> str:
        return ", ".join(t.slug for t in key.templates.all()) or "all"

    @admin.display(description="requests a minute")
    def rate_limit_shown(self, key: ApiKey) -> str:
        limit = key.rate_limit
        shown = formats.count(limit) if limit else "unlimited"
        return f"{shown} (default)" if key.rate_limit_per_minute is None else shown

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        raw = obj.issue()
        obj.created_by = request.user
        super().save_model(request, obj, form, change)
        messages.warning(
            request,
            f"API key for '{obj.name}': {raw} — copy it now, it is not "
            "stored and will not be shown again.",
        )

    @admin.action(description="Revoke selected API keys")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        count = services.api_key_revoke(keys=queryset)
        self.message_user(request, f"Revoked {count} key(s).")


class VersionNumberFilter(admin.SimpleListFilter):
    """Version numbers: those of the chosen template, or every number in use."""

    title = "version"
    parameter_name = "version"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        versions = Version.objects.order_by()
        template = request.GET.get("template__id__exact", "")
        if template.isdigit():
            versions = versions.filter(template_id=int(template))
        numbers = sorted(set(versions.values_list("number", flat=True)))
        return [(str(n), f"v{n}") for n in numbers]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value and value.isdigit():
            return queryset.filter(version__number=int(value))
        return queryset


class RollupValueFilter(admin.SimpleListFilter):
    """The values one column took in the last ``CHOICE_DAYS`` days, as the hourly rollups
    know them: a small, time-bounded read, not a SELECT DISTINCT over the invocation log.
    A value chosen in a link is offered even when older."""

    column: ClassVar[str]
    CHOICE_DAYS = 90

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        since = timezone.now() - timedelta(days=self.CHOICE_DAYS)
        values = set(selectors.invocation_column_values(column=self.column, since=since))
        values |= {self.value()} if self.value() else set()
        return [(value, value) for value in sorted(values) if value]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        return queryset if value is None else queryset.filter(**{self.column: value})


class ModelFilter(RollupValueFilter):
    title = parameter_name = column = "model"


class ProviderFilter(RollupValueFilter):
    title = parameter_name = column = "provider"


class LabelFilter(RollupValueFilter):
    title = parameter_name = column = "label"


class CreatedWithinFilter(admin.SimpleListFilter):
    """Recent invocations by fixed windows (a range on the time index), instead of a date
    hierarchy, whose links come from SELECT DISTINCT over the dates of the whole log."""

    title = "logged within"
    parameter_name = "within"
    WINDOWS: ClassVar[dict[str, tuple[str, timedelta]]] = {
        "1h": ("the last hour", timedelta(hours=1)),
        "24h": ("the last 24 hours", timedelta(hours=24)),
        "7d": ("the last 7 days", timedelta(days=7)),
        "30d": ("the last 30 days", timedelta(days=30)),
    }

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(key, name) for key, (name, _) in self.WINDOWS.items()]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        window = self.WINDOWS.get(self.value() or "")
        if window is None:
            return queryset
        return queryset.filter(created_at__gte=timezone.now() - window[1])


class CappedPaginator(Paginator):
    """Counts at most ``cap`` rows (a COUNT over a LIMIT, never the whole log): the pages
    stop there, and filters reach what is further back."""

    cap = 10_000

    @cached_property
    def counted(self) -> int:
        return self.object_list[: self.cap + 1].count()

    @cached_property
    def count(self) -> int:
        return min(self.counted, self.cap)

    @property
    def capped(self) -> bool:
        return self.counted > self.cap


class InvocationChangeList(ChangeList):
    def get_queryset(self, request: HttpRequest, exclude_parameters: Any = None) -> QuerySet[Any]:
        """The rows without the columns the list does not show."""
        queryset = super().get_queryset(request, exclude_parameters)
        return queryset.defer(*selectors.INVOCATION_LIST_DEFERRED, *LIST_DEFERRED)


# Shown on an invocation's own page, not in the list.
LIST_DEFERRED = ("variables", "metadata", "checkpoints", "output_text", "error_message")


CHECKPOINT_ROW = (
    "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td>"
    "<td>{}</td><td>{}</td></tr>"
)
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"  # UTC, the invocation list's and the version page's
COPYABLE = '<code class="cachet-copy" data-copy="{}" title="click to copy">{}</code>'


@admin.register(Invocation)
class InvocationAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """The invocation log: a list that fits a 1280-pixel window (records.css), and one
    call's page, cache first."""

    class Media:
        css = {"all": ["cachet/template_page.css", "cachet/records.css"]}
        js = ["cachet/copy.js"]

    list_display = [
        "when",
        "template_version",
        "model",
        "status",
        "tokens_uncached",
        "tokens_read",
        "tokens_write",
        "cost",
        "saved",
        "miss_reason",
    ]
    list_display_links = ["template_version"]
    empty_value_display = formats.NONE
    # At millions of rows: no count of the whole log, filter choices from the templates,
    # versions and rollups, and sorting by time only (the one order an index serves).
    list_filter = [
        CreatedWithinFilter,
        "template",
        VersionNumberFilter,
        ModelFilter,
        "status",
        ProviderFilter,
        LabelFilter,
    ]
    search_fields = ["request_id", "caller", "error_message"]
    list_select_related = ["template", "version"]
    list_per_page = 50
    paginator = CappedPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    sortable_by = ["when"]
    # Why it missed and what was cached come first: the question this page answers.
    fieldsets = [
        (
            "Cache",
            {
                "fields": [
                    "miss_explanation",
                    "checkpoints_table",
                    "last_fingerprint_display",
                    ("coalesce", "coalesce_wait", "write_avoided"),
                ]
            },
        ),
        ("Usage and cost", {"fields": ["usage_table"]}),
        (
            "Call",
            {
                "fields": [
                    ("when", "latency"),
                    ("template", "version", "label"),
                    ("model", "provider", "stream"),
                    "status",
                    ("caller", "api_key"),
                    "request_id",
                ]
            },
        ),
        ("Error", {"fields": ["error"]}),
        ("Output", {"fields": ["stop_reason", "output_text_display"]}),
        (
            "Request",
            {"fields": ["variables_json", "metadata_json"], "classes": ["collapse"]},
        ),
        (
            "Raw records",
            {
                "fields": ["usage_raw", "block_hashes", "prefix_variable_hashes"],
                "classes": ["collapse"],
            },
        ),
    ]

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return InvocationChangeList

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [
            name
            for _, options in self.fieldsets
            for entry in options["fields"]
            for name in (entry if isinstance(entry, tuple) else (entry,))
        ]

    @admin.display(description="time (UTC)", ordering="created_at")
    def when(self, invocation: Invocation) -> str:
        return _utc(invocation.created_at)

    @admin.display(description="template@version")
    def template_version(self, invocation: Invocation) -> str:
        return f"{invocation.template.slug}@v{invocation.version.number}"

    @admin.display(description="uncached")
    def tokens_uncached(self, invocation: Invocation) -> str:
        return formats.count(invocation.input_tokens)

    @admin.display(description="read")
    def tokens_read(self, invocation: Invocation) -> str:
        return formats.count(invocation.cache_read_tokens)

    @admin.display(description="write")
    def tokens_write(self, invocation: Invocation) -> str:
        five, hour = invocation.cache_write_5m_tokens, invocation.cache_write_1h_tokens
        if five is None and hour is None:
            return formats.NONE
        return format_html(
            '<span title="5m: {} · 1h: {}">{}</span>',
            formats.count(five),
            formats.count(hour),
            formats.count((five or 0) + (hour or 0)),
        )

    @admin.display(description="cost")
    def cost(self, invocation: Invocation) -> str:
        return formats.usd(invocation.cost_usd)

    @admin.display(description="saved")
    def saved(self, invocation: Invocation) -> str:
        return formats.usd(invocation.saved_usd)

    @admin.display(description="miss")
    def miss_reason(self, invocation: Invocation) -> str:
        miss = invocation.miss or {}
        if not miss:
            return ""  # shown as empty_value_display
        return format_html('<span title="{}">{}</span>', miss.get("message", ""), miss["reason"])

    @admin.display(description="usage and cost")
    def usage_table(self, invocation: Invocation) -> str:
        five, hour = invocation.cache_write_5m_tokens, invocation.cache_write_1h_tokens
        usage = [
            ("uncached input", invocation.input_tokens),
            ("cache read", invocation.cache_read_tokens),
            ("cache write", None if five is None and hour is None else (five or 0) + (hour or 0)),
            ("cache write 5m", five),
            ("cache write 1h", hour),
            ("output", invocation.output_tokens),
        ]
        money = [
            ("cost", invocation.cost_usd),
            ("cost without cache", invocation.cost_without_cache_usd),
            ("saved", invocation.saved_usd),
        ]
        rows = [(name, formats.count(value)) for name, value in usage]
        rows += [(name, formats.usd(value)) for name, value in money]
        return format_html(
            '<table class="cachet-kv">{}</table>',
            format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", rows),
        )

    @admin.display(description="latency")
    def latency(self, invocation: Invocation) -> str:
        return _milliseconds(invocation.latency_ms)

    @admin.display(description="coalescing wait")
    def coalesce_wait(self, invocation: Invocation) -> str:
        return _milliseconds(invocation.coalesce_wait_ms)

    @admin.display(description="cache write avoided")
    def write_avoided(self, invocation: Invocation) -> str:
        return formats.usd(invocation.write_avoided_usd)

    @admin.display(description="why it missed")
    def miss_explanation(self, invocation: Invocation) -> str:
        if invocation.status != Invocation.Status.OK:
            return "— (the call did not succeed)"
        if not invocation.miss:
            if not invocation.checkpoints:
                return "no checkpoints: nothing was meant to be cached"
            return "no miss: every cached prefix was read"
        return format_html(
            '<span class="cachet-miss-explanation"><strong>{}</strong>: {}</span>',
            invocation.miss.get("reason", ""),
            invocation.miss.get("message", ""),
        )

    @admin.display(description="checkpoints")
    def checkpoints_table(self, invocation: Invocation) -> str:
        if not invocation.checkpoints:
            return "none"
        rows = [
            (
                c.get("ordinal"),
                c.get("path"),
                effective_ttl(c.get("ttl")),
                formats.count(c.get("tokens")),
                formats.count(c.get("min_tokens")),
                c.get("status"),
                _copyable(c.get("fingerprint")),
            )
            for c in invocation.checkpoints
        ]
        return format_html(
            '<table class="cachet-checkpoints"><thead><tr><th>#</th><th>path</th><th>TTL</th>'
            "<th>tokens</th><th>min</th><th>status</th><th>fingerprint</th></tr></thead>"
            "<tbody>{}</tbody></table>",
            format_html_join("", CHECKPOINT_ROW, rows),
        )

    @admin.display(description="last fingerprint")
    def last_fingerprint_display(self, invocation: Invocation) -> str:
        return _copyable(invocation.last_fingerprint)

    @admin.display(description="error")
    def error(self, invocation: Invocation) -> str:
        if not invocation.error_type and not invocation.error_message:
            return "none"
        status = (
            f" (provider status {invocation.provider_status})" if invocation.provider_status else ""
        )
        return format_html(
            "<strong>{}</strong>{}<br>{}",
            invocation.error_type,
            status,
            invocation.error_message,
        )

    @admin.display(description="output text")
    def output_text_display(self, invocation: Invocation) -> str:
        return format_html('<pre class="cachet-pre">{}</pre>', invocation.output_text or "")

    @admin.display(description="variables")
    def variables_json(self, invocation: Invocation) -> str:
        if invocation.variables is None:
            return "not stored (CACHET_LOG_VARIABLES is off)"
        return _json_block(invocation.variables)

    @admin.display(description="metadata")
    def metadata_json(self, invocation: Invocation) -> str:
        return _json_block(invocation.metadata)


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(TIME_FORMAT)


def _milliseconds(value: int | None) -> str:
    return formats.NONE if value is None else f"{formats.count(value)} ms"


def _copyable(text: str | None) -> str:
    """A fingerprint or hash shown whole: a click copies it (copy.js) or, without a
    clipboard, selects it."""
    return format_html(COPYABLE, text, text) if text else formats.NONE


def _json_block(value: Any) -> str:
    return format_html(
        '<pre class="cachet-pre">{}</pre>', json.dumps(value, ensure_ascii=False, indent=2)
    )
