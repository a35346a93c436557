"""Admin pages: templates with their versions and labels, label history, API keys.

Versions are read-only here: nothing in the admin edits or deletes a stored version.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import path
from django.utils import timezone

from .models import ApiKey, Invocation, Label, LabelMove, Template, Version


class ReadOnlyMixin:
    """Records that are written by the system only: never added, changed or deleted here."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyInline(ReadOnlyMixin, admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True


class VersionInline(ReadOnlyInline):
    model = Version
    fields = ["number", "author", "message", "content_hash", "created_at"]
    readonly_fields = fields
    ordering = ["-number"]


class LabelInline(ReadOnlyInline):
    model = Label
    fields = ["name", "version", "updated_by", "updated_at"]
    readonly_fields = fields


@admin.register(Template)
class TemplateAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "version_count", "updated_at"]
    search_fields = ["slug", "name", "description"]
    readonly_fields = ["version_count", "created_at", "updated_at"]
    inlines = [LabelInline, VersionInline]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # its versions are kept forever

    def get_urls(self) -> list[Any]:
        from . import admin_editor, admin_pages

        def page(view: Any) -> Any:
            def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
                return view(request, *args, admin_site=self.admin_site, **kwargs)

            return self.admin_site.admin_view(wrapped)

        return [
            path(
                "<path:object_id>/editor/",
                page(admin_editor.editor_view),
                name="templates_app_template_editor",
            ),
            path(
                "<path:object_id>/diff/",
                page(admin_pages.diff_view),
                name="templates_app_template_diff",
            ),
            path(
                "<path:object_id>/labels/<str:label>/move/",
                page(admin_pages.label_move_view),
                name="templates_app_template_label_move",
            ),
            *super().get_urls(),
        ]


@admin.register(Version)
class VersionAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["template", "number", "author", "message", "created_at"]
    list_filter = ["template"]
    readonly_fields = [
        "template",
        "number",
        "body",
        "content_hash",
        "message",
        "author",
        "lint",
        "created_at",
    ]


@admin.register(LabelMove)
class LabelMoveAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["label", "from_version", "to_version", "moved_by", "moved_at"]
    list_filter = ["label__template", "label__name"]
    readonly_fields = ["label", "from_version", "to_version", "moved_by", "moved_at"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "prefix", "created_by", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["prefix", "created_by", "created_at", "last_used_at", "revoked_at"]
    fields = ["name", *readonly_fields]
    actions = ["revoke"]

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        key, raw = ApiKey.generate(name=obj.name, created_by=request.user)
        obj.pk, obj.prefix, obj.key_hash = key.pk, key.prefix, key.key_hash
        messages.warning(
            request,
            f"API key for '{key.name}': {raw} — copy it now, it is not "
            "stored and will not be shown again.",
        )

    @admin.action(description="Revoke selected API keys")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        count = queryset.filter(revoked_at=None).update(revoked_at=timezone.now())
        self.message_user(request, f"Revoked {count} key(s).")


@admin.register(Invocation)
class InvocationAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = [
        "created_at",
        "template",
        "version",
        "model",
        "status",
        "input_tokens",
        "cache_read_tokens",
        "cache_write_5m_tokens",
        "cache_write_1h_tokens",
        "output_tokens",
        "cost_usd",
        "saved_usd",
        "miss_reason",
        "latency_ms",
    ]
    list_filter = ["status", "provider", "model", "template", "created_at"]
    search_fields = ["request_id", "caller", "error_message"]
    date_hierarchy = "created_at"
    list_select_related = ["template", "version"]

    @admin.display(description="miss")
    def miss_reason(self, invocation: Invocation) -> str:
        return (invocation.miss or {}).get("reason", "")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in Invocation._meta.fields]
