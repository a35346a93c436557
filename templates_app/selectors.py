"""Reads: look templates, versions and labels up, and resolve what a call refers to."""

from __future__ import annotations

from django.db.models import QuerySet

from .errors import CachetError, NotFoundError
from .models import Label, LabelMove, Template, Version
from .rendering import CompiledBody, compiled_for

DEFAULT_LABEL = "production"
LATEST = "latest"


def template_get(*, slug: str) -> Template:
    """The template with ``slug``; ``NotFoundError`` otherwise."""
    template = Template.objects.filter(slug=slug).first()
    if template is None:
        raise NotFoundError(f"template '{slug}' not found")
    return template


def template_list() -> QuerySet[Template]:
    return Template.objects.order_by("slug")


def version_list(*, template: Template) -> QuerySet[Version]:
    return template.versions.order_by("-number")


def version_get(*, template: Template, number: int) -> Version:
    """Version ``number`` of ``template``; ``NotFoundError`` otherwise."""
    version = template.versions.filter(number=number).first()
    if version is None:
        raise NotFoundError(f"template '{template.slug}' has no version {number}")
    return version


def version_latest(*, template: Template) -> Version:
    version = template.versions.order_by("-number").first()
    if version is None:
        raise NotFoundError(f"template '{template.slug}' has no versions yet")
    return version


def version_resolve(
    *, template: Template, version: int | None = None, label: str | None = None
) -> tuple[Version, str | None]:
    """The version a call means, and the label it came through.

    ``version`` and ``label`` are exclusive; with neither, ``production`` if that
    label exists, else the latest version.
    """
    if version is not None and label is not None:
        raise CachetError("give either 'version' or 'label', not both")
    if version is not None:
        return version_get(template=template, number=version), None
    if label == LATEST:
        return version_latest(template=template), LATEST
    if label is not None:
        found = template.labels.select_related("version").filter(name=label).first()
        if found is None:
            raise NotFoundError(f"template '{template.slug}' has no label '{label}'")
        return found.version, label
    default = template.labels.select_related("version").filter(name=DEFAULT_LABEL).first()
    if default is not None:
        return default.version, DEFAULT_LABEL
    return version_latest(template=template), LATEST


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
