"""Template pages in the admin beyond the form: the change page's sections, diff, label moves.

The change page (``TemplateAdmin.render_change_form``) gets its versions table, labels,
history, "try it" panel, charts and TTL advisor from ``template_page_context``. ``diff_view`` and
``label_move_view`` are routed by ``TemplateAdmin.get_urls``; the admin site has
already checked that the user is staff.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.admin import AdminSite
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.safestring import mark_safe

from gateway.catalog import known_models

from .. import selectors, services
from ..engine.errors import CachetError
from ..engine.labels import LATEST, label_name_problem, resolve_version
from ..engine.ttl_advice import ttl_hints
from ..models import Label, Template, Version
from ..sending.warmup import label_promote
from . import charts, editor, formats

CHART_DAYS = 30
NEW_LABEL = "-"  # URL segment of the "new label" form: never a valid label name
DIFF_LINE_KINDS = (("+++", "meta"), ("---", "meta"), ("@@", "hunk"), ("+", "add"), ("-", "del"))


# --- the change page ---------------------------------------------------------------------


def template_page_context(request: HttpRequest, template: Template) -> dict[str, Any]:
    """Everything the change page shows below the form."""
    versions = list(selectors.version_list(template=template).defer("body"))
    labels = list(selectors.label_list(template=template))
    may_move_protected = request.user.has_perm(services.PROTECTED_LABEL_PERMISSION)
    latest = versions[0].number if versions else None
    advice = selectors.template_ttl_advice(template=template)
    hints = {number: ttl_hints(found) for number, found in advice.items()}
    return {
        "versions": _version_rows(versions, labels, hints),
        "latest_number": latest,
        "numbers": [v.number for v in versions],
        "compare_default": {"a": max((latest or 1) - 1, 1), "b": latest},
        "labels": [
            {
                "label": label,
                "protected": services.label_is_protected(label.name),
                "allowed": may_move_protected or not services.label_is_protected(label.name),
                "move_url": _move_url(template, label.name),
            }
            for label in labels
        ],
        "new_label_url": _move_url(template, NEW_LABEL),
        "protected_labels": settings.CACHET["PROTECTED_LABELS"],
        "label_moves": selectors.label_history(template=template)[:50],
        **_try_it(template, versions, labels),
        **_analytics(template),
        "ttl_advice": _ttl_advice_rows(versions, advice, hints),
        "ttl_advice_days": selectors.TTL_ADVICE_WINDOW.days,
    }


def _version_rows(
    versions: list[Version], labels: list[Label], hints: dict[int, list[dict[str, Any]]]
) -> list[dict[str, Any]]:
    names: dict[int, list[str]] = {}
    for label in labels:
        names.setdefault(label.version_id, []).append(label.name)
    rows = []
    for version in versions:
        warnings = [w["message"] for w in (version.lint or {}).get("warnings", [])]
        warnings += [hint["message"] for hint in hints.get(version.number, [])]
        count = len(warnings)
        rows.append(
            {
                "version": version,
                "labels": names.get(version.pk, []),
                "lint_status": f"{count} warning{'s' if count > 1 else ''}" if count else "ok",
                "warnings": "\n".join(warnings),
            }
        )
    return rows


def _ttl_advice_rows(
    versions: list[Version],
    advice: dict[int, dict[str, Any]],
    hints: dict[int, list[dict[str, Any]]],
) -> list[dict[str, Any]]:
    """The TTL advisor's answer for each version with calls in the window, newest first,
    its dollar figures formatted."""
    rows = []
    for number in (v.number for v in versions if v.number in advice):
        found = advice[number]
        checkpoints = [
            {
                **row,
                # Each TTL's cost, with its writes, re-writes and reads (the template cannot
                # look "5m" up).
                "under": [
                    {**cost, "ttl": ttl, "display": formats.usd(cost["usd"])}
                    for ttl, cost in row["costs"].items()
                ],
                "saved_display": formats.usd(row["saved_usd_per_day"]),
            }
            for row in found["checkpoints"]
        ]
        rows.append(
            {
                **found,
                "number": number,
                "checkpoints": checkpoints,
                "hints": hints[number],
                "assigned": ", ".join(row["assigned_ttl"] for row in found["checkpoints"]),
                "changes": any(row["assigned_ttl"] != row["ttl"] for row in found["checkpoints"]),
                "current_display": formats.usd(found["current_usd"]),
                "recommended_display": formats.usd(found["recommended_usd"]),
                "saved_display": formats.usd(found["saved_usd_per_day"]),
            }
        )
    return rows


def _move_url(template: Template, label: str) -> str:
    return reverse("admin:templates_app_template_label_move", args=[template.pk, label])


def _try_it(template: Template, versions: list[Version], labels: list[Label]) -> dict[str, Any]:
    """Targets (labels, latest, versions) with the model and variables of each."""
    if not versions:
        return {"try_targets": []}

    def target(value: str, text: str, version: Version) -> dict[str, Any]:
        lint = version.lint or {}
        declared = [*lint.get("prefix_variables", []), *lint.get("suffix_variables", [])]
        return {
            "value": value,
            "text": text,
            "model": lint.get("model", ""),
            "vars": declared,
            "version": version.number,
        }

    targets = [
        target(
            f"label:{label.name}", f"label {label.name} (v{label.version.number})", label.version
        )
        for label in labels
    ]
    targets.append(target("label:latest", f"latest (v{versions[0].number})", versions[0]))
    targets += [target(f"version:{v.number}", f"version {v.number}", v) for v in versions]
    by_value = {t["value"]: t for t in targets}
    # The target a call naming neither version nor label goes to, by the one rule.
    default, _ = resolve_version(
        slug=template.slug,
        version=None,
        label=None,
        by_number=lambda number: by_value.get(f"version:{number}"),
        by_label=lambda name: by_value.get(f"label:{name}"),
        latest=lambda: by_value[f"label:{LATEST}"],
    )
    samples = template.sample_variables or {}
    prefill = {k: v for k, v in samples.items() if k in default["vars"]} or samples
    # The declared variables of the versions labels and latest serve; any other version's
    # are fetched when it is chosen (versionUrl).
    specs = _variable_specs(
        template, {v.number for v in [versions[0], *(label.version for label in labels)]}
    )
    version_models = sorted({t["model"] for t in targets if t["model"]})
    models = version_models + [m for m in known_models() if m not in version_models]
    return {
        "try_targets": targets,
        "try_default": default["value"],
        "try_model": default["model"],
        "try_models": models,
        "try_version_models": version_models,
        "try_variables": json.dumps(prefill, ensure_ascii=False, indent=2),
        "try_data": {
            "samples": samples,
            "targets": {
                t["value"]: {"model": t["model"], "vars": t["vars"], "version": t["version"]}
                for t in targets
            },
            "specs": specs,
            "versionUrl": reverse("version-detail", args=[template.slug, 0]),
            "tokenFactors": editor.token_factors(),
        },
        # The template's own sample variables, as a form of what the latest version declares.
        "sample_form": {
            "spec": specs.get(versions[0].number, {}),
            "tokenFactor": editor.token_factors().get(versions[0].lint.get("model", ""), 1)
            if versions[0].lint
            else 1,
        },
        "send_url": reverse("send", args=[template.slug]),
        "invocation_url": reverse("admin:templates_app_invocation_change", args=[0]),
    }


def _variable_specs(template: Template, numbers: set[int]) -> dict[int, Any]:
    """The ``variables`` each of these versions declares, read in one query."""
    bodies = template.versions.filter(number__in=numbers).values_list("number", "body")
    return {number: json.loads(body).get("variables", {}) for number, body in bodies}


def _analytics(template: Template) -> dict[str, Any]:
    rows = selectors.template_daily_stats(template, CHART_DAYS)
    ok, hits = sum(row["ok"] for row in rows), sum(row["hits"] for row in rows)
    svgs = charts.daily_charts(rows)
    return {
        # charts.py escapes every piece of text it writes: its SVG can be inlined as is.
        "charts": {name: mark_safe(svg) for name, svg in svgs.items()},
        "analytics_days": CHART_DAYS,
        "analytics_totals": {
            "calls": sum(row["calls"] for row in rows),
            "hit_ratio": formats.percent(hits / ok if ok else None),
            "saved_usd": formats.usd(sum(row["saved_usd"] for row in rows)),
            "cost_usd": formats.usd(sum(row["cost_usd"] for row in rows)),
            "writes_avoided": sum(row["writes_avoided"] for row in rows),
            "write_avoided_usd": formats.usd(sum(row["write_avoided_usd"] for row in rows)),
        },
    }


# --- cache impact ---------------------------------------------------------------------------


def with_display(impact: dict[str, Any]) -> dict[str, Any]:
    """``services.version_diff``'s answer with its dollar figures formatted for the page."""
    rewrite = impact["rewrite"]
    for row in rewrite["rows"]:
        row["per_entry_display"] = formats.usd(row["per_entry_usd"])
        row["total_display"] = formats.usd(row["total_usd"])
    rewrite["per_entry_display"] = formats.usd(rewrite["per_entry_usd"])
    rewrite["total_display"] = formats.usd(rewrite["total_usd"])
    return impact


def diff_lines(text: str) -> list[tuple[str, str]]:
    """A unified diff as ``(kind, line)`` pairs; kind is meta, hunk, add, del or context."""
    lines = []
    for line in text.splitlines():
        kind = next((k for prefix, k in DIFF_LINE_KINDS if line.startswith(prefix)), "context")
        lines.append(("meta" if line.startswith("\\") else kind, line))
    return lines


# --- pages ---------------------------------------------------------------------------------


def _template(request: HttpRequest, object_id: str, admin_site: AdminSite) -> Template:
    model_admin = admin_site.get_model_admin(Template)
    template = model_admin.get_object(request, object_id)
    if template is None:
        raise Http404("no such template")
    if not model_admin.has_view_permission(request, template):
        raise PermissionDenied
    return template


def _page(
    request: HttpRequest,
    admin_site: AdminSite,
    template: Template,
    name: str,
    title: str,
    context: dict[str, Any],
) -> HttpResponse:
    return render(
        request,
        f"admin/templates_app/template/{name}",
        {
            **admin_site.each_context(request),
            "opts": Template._meta,
            "original": template,
            "title": title,
            "change_url": reverse("admin:templates_app_template_change", args=[template.pk]),
            **context,
        },
    )


def _number(raw: str | None) -> int | None:
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


def diff_view(request: HttpRequest, object_id: str, admin_site: AdminSite) -> HttpResponse:
    """The diff between two versions (``?a=N&b=M``; default: previous and latest) with its
    cache impact."""
    template = _template(request, object_id, admin_site)
    numbers = list(template.versions.order_by("number").values_list("number", flat=True))
    if not numbers:
        return _page(request, admin_site, template, "diff.html", "Diff", {"numbers": []})
    b = _number(request.GET.get("b")) or numbers[-1]
    a = _number(request.GET.get("a")) or max(b - 1, numbers[0])
    try:
        old = selectors.version_get(template=template, number=a)
        new = selectors.version_get(template=template, number=b)
    except CachetError as exc:
        raise Http404(str(exc)) from None
    impact = with_display(services.version_diff(template=template, old=old, new=new))
    for block in impact["blocks"]:
        block["lines"] = diff_lines(block["diff"])
    return _page(
        request,
        admin_site,
        template,
        "diff.html",
        f"{template.slug}: v{a} → v{b}",
        {
            "numbers": numbers[::-1],
            "old": old,
            "new": new,
            "impact": impact,
            "params_lines": diff_lines(impact["params"] or ""),
            "variables_lines": diff_lines(impact["variables"] or ""),
            "diff_versions": [old, new],
            "unchanged_blocks": [b["path"] for b in impact["blocks"] if b["status"] == "unchanged"],
            "changed_blocks": [b["path"] for b in impact["blocks"] if b["status"] != "unchanged"],
            "compare_default": {"a": a, "b": b},
        },
    )


# The tag of a label move's messages: the labels section shows them, where the redirect lands.
LABEL_MESSAGES = "labels"


def label_move_view(
    request: HttpRequest, object_id: str, label: str, admin_site: AdminSite
) -> HttpResponse:
    """GET: confirm moving ``label`` to ``?version=N`` (from → to, cache impact). POST: move it."""
    template = _template(request, object_id, admin_site)
    change_url = reverse("admin:templates_app_template_change", args=[template.pk])
    back = HttpResponseRedirect(change_url + "#labels")
    if label == NEW_LABEL:
        label = request.GET.get("label", "").strip()
        query = urlencode({"version": request.GET.get("version", "")})
        if label_name_problem(label) is None:
            return HttpResponseRedirect(f"{_move_url(template, label)}?{query}")
    problem = label_name_problem(label)
    if problem is not None:
        messages.error(request, problem, extra_tags=LABEL_MESSAGES)
        return back
    protected = services.label_is_protected(label)
    # Moving a label changes the template: view permission alone only shows the confirmation.
    may_change = admin_site.get_model_admin(Template).has_change_permission(request, template)
    allowed = may_change and (
        not protected or request.user.has_perm(services.PROTECTED_LABEL_PERMISSION)
    )
    data = request.POST if request.method == "POST" else request.GET
    number = _number(data.get("version"))
    if number is None:
        messages.error(request, "choose a version to move the label to", extra_tags=LABEL_MESSAGES)
        return back
    if request.method == "POST":
        return _move(request, template, label, number, allowed, back)
    try:
        target = selectors.version_get(template=template, number=number)
    except CachetError as exc:
        messages.error(request, exc.message, extra_tags=LABEL_MESSAGES)
        return back
    current = Label.objects.filter(template=template, name=label).select_related("version").first()
    impact = None
    if current is not None and current.version_id != target.pk:
        impact = with_display(
            services.version_diff(template=template, old=current.version, new=target)
        )
    return _page(
        request,
        admin_site,
        template,
        "label_move_confirm.html",
        f"Move {label} to v{target.number}",
        {
            "label_name": label,
            "current": current,
            "target": target,
            "impact": impact,
            "protected": protected,
            "may_change": may_change,
            "allowed": allowed,
        },
    )


def _move(
    request: HttpRequest,
    template: Template,
    label: str,
    number: int,
    allowed: bool,
    back: HttpResponse,
) -> HttpResponse:
    if not allowed:
        raise PermissionDenied(f"may not move '{label}'")
    before = Label.objects.filter(template=template, name=label).select_related("version").first()
    if before is not None and before.version.number == number:
        # A stale or hand-made form: nothing to move, and no warm-up is paid for.
        messages.info(
            request,
            f"{label} already points at v{number}: nothing changed.",
            extra_tags=LABEL_MESSAGES,
        )
        return back
    warm = request.POST.get("warm") == "on"
    try:
        promoted = label_promote(
            template=template,
            label=label,
            version=number,
            moved_by=request.user.get_username(),
            protected_allowed=allowed,
            warm=warm,
        )
    except CachetError as exc:
        stayed = " The label was not moved." if warm else ""
        messages.error(request, f"{exc.message}{stayed}", extra_tags=LABEL_MESSAGES)
        return back
    moved, warmed = promoted.label, warmup_text(promoted.warmup)
    origin = f"v{before.version.number}" if before else "(new)"
    messages.success(
        request,
        f"{warmed}Moved {label} from {origin} to v{moved.version.number}.",
        extra_tags=LABEL_MESSAGES,
    )
    return back


def warmup_text(report: dict[str, Any] | None) -> str:
    """The warm-up report as the start of the move's message: what it wrote, and its cost."""
    if report is None:
        return ""
    text = f"Warm-up of v{report['version']}: {report['message']}"
    sent = [chain for chain in report["chains"] if chain["usage"] is not None]
    if sent:
        writes = sum(chain["usage"]["cache_write_tokens"] or 0 for chain in sent)
        costs = [chain["cost"]["usd"] for chain in sent]
        usd = None if None in costs else sum(costs)
        text += f"; {formats.count(writes)} tokens written, cost {formats.usd(usd)}"
    return text + ". "
