"""The version page's pieces beyond the admin's fields: its lint report as lists, with each
checkpoint's fingerprint, and its actions (a new version from this one, a diff).

Nothing here writes: the editor saves a *new* version, and the diff only reads.
"""

from __future__ import annotations

from typing import Any

from django.contrib.admin import AdminSite
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse

from gateway.errors import GatewayError
from gateway.types import effective_ttl

from .. import services
from ..engine.errors import CachetError
from ..models import Template, Version

LINT_TEMPLATE = "admin/templates_app/version/_lint.html"


def version_actions(
    request: HttpRequest, version: Version, admin_site: AdminSite
) -> dict[str, Any]:
    """The editor starting from this version (for who may change the template) and the
    diff against another version, defaulting to the one before (or after) it."""
    template = version.template
    may_edit = admin_site.get_model_admin(Template).has_change_permission(request, template)
    editor = reverse("admin:templates_app_template_editor", args=[template.pk])
    others = list(
        template.versions.exclude(pk=version.pk)
        .order_by("-number")
        .values_list("number", flat=True)
    )
    before = [n for n in others if n < version.number]
    return {
        "edit_url": f"{editor}?from={version.number}" if may_edit else None,
        "diff_url": reverse("admin:templates_app_template_diff", args=[template.pk]),
        "other_numbers": others,
        "compare_with": before[0] if before else (others[-1] if others else None),
    }


def lint_report(version: Version) -> str:
    """The report stored with the version, as lists; each checkpoint with the fingerprint
    its prefix has when rendered with the template's sample variables."""
    report = version.lint or {}
    prints, render_error = _sample_fingerprints(version, report.get("model"))
    checkpoints = [
        {
            **checkpoint,
            "ttl": effective_ttl(checkpoint.get("ttl")),
            "fingerprint": prints.get(checkpoint.get("path")),
        }
        for checkpoint in report.get("checkpoints", [])
    ]
    return render_to_string(
        LINT_TEMPLATE,
        {
            "lint": report,
            "errors": report.get("errors", []),
            "warnings": report.get("warnings", []),
            "checkpoints": checkpoints,
            "render_error": render_error,
        },
    )


def _sample_fingerprints(version: Version, model: str | None) -> tuple[dict[str, str], str]:
    """Each checkpoint's fingerprint by path, rendered as the editor previews (the template's
    sample variables); what went wrong instead when they do not render."""
    try:
        preview = services.version_preview(
            template=version.template, body=version.body_data, model=model
        )
    except (CachetError, GatewayError) as exc:
        return {}, str(exc)
    if preview["render_error"] is not None:
        return {}, preview["render_error"]["message"]
    found = [block["checkpoint"] for block in preview["blocks"] if block["checkpoint"]]
    return {c["path"]: c["fingerprint"] for c in found}, ""
