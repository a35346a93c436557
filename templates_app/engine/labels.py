"""Label names, and which version a call means. Pure: no Django.

A call names a ``version`` or a ``label``, never both. With neither it means the
``production`` label if the template has one, else the latest version. ``latest`` is
implicit: every template has it, it always means the newest version, and it cannot be
moved. The database lookups live with their callers (the ORM in ``selectors``, one SQL
statement on the send path in ``sending.target``); both hand them to ``resolve_version``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TypeVar

from .errors import CachetError, NotFoundError

T = TypeVar("T")

DEFAULT_LABEL = "production"
LATEST = "latest"
LABEL_MAX_LENGTH = 64
LABEL_PATTERN = r"^[a-z0-9]+(?:[-_][a-z0-9]+)*\Z"
LABEL_RULE = "lowercase letters, digits, - and _, e.g. production"
_LABEL_RE = re.compile(LABEL_PATTERN)


def label_name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a label that is moved or created, or None."""
    if name == LATEST:
        return f"'{LATEST}' always means the newest version and cannot be moved"
    if len(name) > LABEL_MAX_LENGTH or not _LABEL_RE.match(name):
        return f"'{name[:80]}' is not a valid label name: up to {LABEL_MAX_LENGTH} {LABEL_RULE}"
    return None


def label_to_look_up(label: str | None) -> str | None:
    """The label whose version a call may need: the one named, else ``production``;
    None for ``latest``, which is no stored label."""
    if label == LATEST:
        return None
    return DEFAULT_LABEL if label is None else label


def resolve_version(
    *,
    slug: str,
    version: int | None,
    label: str | None,
    by_number: Callable[[int], T | None],
    by_label: Callable[[str], T | None],
    latest: Callable[[], T | None],
) -> tuple[T, str | None]:
    """The version a call means, and the label it came through (None for a number).

    The three lookups are asked only when the rule needs them: the version numbered
    ``version``, the version a label points at (``label_to_look_up``), the newest
    version. Raises ``CachetError`` when both are given and ``NotFoundError`` for a
    missing version, label or an empty template.
    """
    if version is not None and label is not None:
        raise CachetError("give either 'version' or 'label', not both")
    if version is not None:
        found = by_number(version)
        if found is None:
            raise NotFoundError(f"template '{slug}' has no version {version}")
        return found, None
    wanted = label_to_look_up(label)
    if wanted is not None:
        found = by_label(wanted)
        if found is not None:
            return found, wanted
        if label is not None:
            raise NotFoundError(f"template '{slug}' has no label '{label}'")
    newest = latest()
    if newest is None:
        raise NotFoundError(f"template '{slug}' has no versions yet")
    return newest, LATEST
