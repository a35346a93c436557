"""The version editor page in the admin (code editor, live preview, lint, save).

The page is a shell: the browser lints, previews and saves through the REST API
(``preview`` and ``version-list``) with the admin session, so the rules live in one
place. This view only picks the starting body and lists the catalog's models.
"""

from __future__ import annotations

import json
from itertools import groupby
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse

from gateway.catalog import all_profiles
from gateway.tokens import token_factor
from gateway.types import TTLS

from ..models import Template, Version

EDITOR_TEMPLATE = "admin/templates_app/template/editor.html"
STARTER_MODEL = "sim/claude-sonnet-4-5"
STARTER_SYSTEM = (
    "You are a careful assistant.\n"
    "Put long, stable instructions and reference material here: everything up to the "
    "cache_control marker is the cached prefix, so keep per-request variables out of it."
)
JSON_TYPES = {bool: "boolean", int: "integer", float: "number", list: "array", dict: "object"}
PROVIDER_NAMES = {
    "anthropic": "Anthropic",
    "bedrock": "Amazon Bedrock",
    "openai": "OpenAI-compatible",
    "sim": "Simulator",
}


def editor_view(request: HttpRequest, object_id: str, admin_site: Any) -> HttpResponse:
    """The editor page of one template, starting from ``?from=<n>`` or the latest version.

    Only for staff who may change templates: the page shows the body and sample variables.
    """
    template = _template(object_id)
    if not admin_site.get_model_admin(Template).has_change_permission(request, template):
        raise PermissionDenied
    # "template" too: the related manager reads every row's template_id (a query each if deferred).
    versions = list(
        template.versions.order_by("-number").only("template", "number", "message", "content_hash")
    )
    base = _base_version(template, request.GET.get("from"))
    body_text = _pretty(base.body_data) if base else _pretty(starter_body(template))
    body_model = _body_model(body_text)
    config = {
        "slug": template.slug,
        "body": body_text,
        "baseVersion": base.number if base else None,
        "previewUrl": reverse("preview", args=[template.slug]),
        "versionsUrl": reverse("version-list", args=[template.slug]),
        "changeUrl": reverse("admin:templates_app_template_change", args=[template.pk]),
        "editorUrl": request.path,
        "modelGroups": model_groups(body_model),
        "ttls": list(TTLS),
        "latestNumber": versions[0].number if versions else None,
        "latestHash": versions[0].content_hash if versions else None,
        "tokenFactors": token_factors(),
    }
    context = {
        **admin_site.each_context(request),
        "title": f"Edit {template.name}",
        "subtitle": None,
        "opts": Template._meta,
        "original": template,
        "template_obj": template,
        "versions": versions,
        "base": base,
        "body_model": body_model,
        "model_groups": model_groups(body_model),
        "sample_variables": _pretty(template.sample_variables or {}),
        "editor_config": config,
    }
    return TemplateResponse(request, EDITOR_TEMPLATE, context)


def _template(object_id: str) -> Template:
    try:
        return Template.objects.get(pk=int(object_id))
    except (ValueError, Template.DoesNotExist):
        raise Http404(f"no template with id {object_id!r}") from None


def _base_version(template: Template, number: str | None) -> Version | None:
    versions = template.versions.order_by("-number")
    if number in (None, ""):
        return versions.first()
    try:
        return versions.get(number=int(number))
    except (ValueError, Version.DoesNotExist):
        raise Http404(f"template '{template.slug}' has no version {number!r}") from None


def _pretty(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False)


def _body_model(body_text: str) -> str:
    model = json.loads(body_text).get("model")
    return model if isinstance(model, str) else STARTER_MODEL


def starter_body(template: Template) -> dict[str, Any]:
    """A first body for a template with no versions, declaring its sample variables."""
    samples = template.sample_variables or {"question": "What does the document say?"}
    variables = {
        name: {"type": JSON_TYPES.get(type(value), "string"), "required": True}
        for name, value in samples.items()
    }
    user_text = "\n".join(f"{name}: {{{{ {name} }}}}" for name in samples)
    return {
        "model": STARTER_MODEL,
        "params": {"max_tokens": 512, "temperature": 0},
        "variables": variables,
        "messages": [
            {
                "role": "system",
                "content": [
                    {
                        "type": "text",
                        "text": STARTER_SYSTEM,
                        "cache_control": {"type": "ephemeral"},
                    }
                ],
            },
            {"role": "user", "content": user_text},
        ],
    }


def token_factors() -> dict[str, float]:
    """Each catalog model's tokenizer factor, for the token counts the variable forms show."""
    return {p.model: token_factor(p.tokenizer) for p in all_profiles() if p.known}


def model_groups(selected: str) -> list[dict[str, Any]]:
    """Catalog models grouped by provider for the model switcher; ``selected`` always listed."""
    models = [p.model for p in all_profiles() if p.known and p.retired is None]
    groups = [
        {"label": PROVIDER_NAMES.get(provider, provider), "models": list(names)}
        for provider, names in groupby(models, key=lambda m: m.partition("/")[0])
    ]
    if selected not in models:  # an alias, a Bedrock profile id, or not in the catalog
        groups.insert(0, {"label": "This body's model", "models": [selected]})
    return groups
