"""Which version a send means, in one SQL statement: the send path's ``version_resolve``.

``selectors.version_resolve`` answers with up to three ORM queries (template, label,
latest version), and compiling them costs more than running them. A send asks once:
one statement finds the template by its slug or an alias and returns its id, its slug and
every candidate version id, and versions, being immutable, come from a per-process cache,
loaded without their body (the compiled body is cached per content hash). The statement's
rows are kept per process too: a label move, a new version or an alias change takes effect
at once in the process that made it and within ``CACHE_BOUND_SECONDS`` in every other
(``models.caches_invalidate``), so a warm send reads nothing. The rule that picks among
the candidates is ``engine.labels.resolve_version``, which ``version_resolve`` applies too:
answers and errors are the same.
"""

from __future__ import annotations

import copy
import functools
import threading
from typing import Any

from django.db import connection
from django.db.models.signals import post_save
from django.dispatch import receiver

from ..engine.errors import NotFoundError
from ..engine.labels import label_to_look_up, resolve_version
from ..models import Label, ProcessCache, Template, TemplateAlias, Version
from ..selectors import HEAVY_VERSION_FIELDS

# The template is named by its slug or by one of its aliases (never both: an alias is no
# template's slug); COALESCE asks the alias table only when no slug matched.
_SQL = """
SELECT t.id, t.slug,
  (SELECT l.version_id FROM {label} l WHERE l.template_id = t.id AND l.name = %s),
  (SELECT v.id FROM {version} v WHERE v.template_id = t.id AND v.number = %s),
  (SELECT v.id FROM {version} v WHERE v.template_id = t.id ORDER BY v.number DESC LIMIT 1)
FROM {template} t WHERE t.id = COALESCE(
  (SELECT s.id FROM {template} s WHERE s.slug = %s),
  (SELECT a.template_id FROM {alias} a WHERE a.alias = %s)
)
"""


@functools.cache
def _statement() -> str:
    qn = connection.ops.quote_name
    return _SQL.format(
        label=qn(Label._meta.db_table),
        version=qn(Version._meta.db_table),
        template=qn(Template._meta.db_table),
        alias=qn(TemplateAlias._meta.db_table),
    )


_versions: dict[int, Version] = {}
_versions_lock = threading.Lock()
CACHED_VERSIONS = 4096


def _version(pk: int, template: Template) -> Version:
    with _versions_lock:
        stored = _versions.get(pk)
    if stored is None:
        stored = Version.objects.defer(*HEAVY_VERSION_FIELDS).get(pk=pk)
        with _versions_lock:
            if len(_versions) >= CACHED_VERSIONS:
                _versions.clear()
            _versions[pk] = stored
    version = copy.copy(stored)  # the cached one is shared by every thread
    version.template = template
    return version


@receiver(post_save, sender=Version)
def _forget(sender: type[Version], instance: Version, **kwargs: object) -> None:
    """A new version can only reuse an id after a rolled-back insert (as in tests), but
    then the cached one must go."""
    with _versions_lock:
        _versions.pop(instance.pk, None)


# Rows of the statement, per process; a write of what they hold (a label, a version, an
# alias, a template) reaches every process within CACHE_BOUND_SECONDS.
_targets = ProcessCache(limit=4096)


def _row(slug: str, version: int | None, label: str | None) -> tuple[Any, ...]:
    with connection.cursor() as cursor:
        cursor.execute(_statement(), [label, version, slug, slug])
        row = cursor.fetchone()
    if row is None:
        raise NotFoundError(f"template '{slug}' not found")  # not kept
    return tuple(row)


def send_target(
    *, slug: str, version: int | None = None, label: str | None = None
) -> tuple[Template, Version, str | None]:
    """The template (id and slug only), the version and the label a send goes through.

    ``slug`` may be one of the template's aliases; the template keeps its own slug.
    """
    asked = (slug, version, label_to_look_up(label))
    template_id, slug, by_label, by_number, latest = _targets.fetch(asked, lambda: _row(*asked))
    template = Template(id=template_id, slug=slug)
    template._state.adding, template._state.db = False, connection.alias
    pk, label_name = resolve_version(
        slug=slug,
        version=version,
        label=label,
        by_number=lambda _: by_number,
        by_label=lambda _: by_label,
        latest=lambda: latest,
    )
    return template, _version(pk, template), label_name
