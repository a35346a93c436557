"""What a template's slug and aliases may be. Pure: the models validate with these rules, and
the importers make names that keep them."""

from __future__ import annotations

import re

SLUG_MAX_LENGTH = 100
SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*\Z"
SLUG_RULE = "lowercase letters, digits and single dashes, e.g. support-triage"
# An alias resolves like a slug, so it must fit in the URL where a slug goes (Django's
# ``<slug:…>`` converter: letters, digits, _ and -); an OpenAI prompt id (pmpt_…) fits.
ALIAS_MAX_LENGTH = 200
ALIAS_PATTERN = r"^[A-Za-z0-9_-]+\Z"
ALIAS_RULE = "letters, digits, _ and -, e.g. pmpt_68b1f0c2a9e4819d8f3e5a7b6c4d2e10"
_ALIAS_RE = re.compile(ALIAS_PATTERN)
_SLUG_RE = re.compile(SLUG_PATTERN)


def is_slug(name: str) -> bool:
    """Whether ``name`` can be a template's slug (its form only: not whether it is free)."""
    return len(name) <= SLUG_MAX_LENGTH and _SLUG_RE.match(name) is not None


def is_alias(name: str) -> bool:
    """Whether ``name`` can be an alias (its form only: not whether it is free)."""
    return len(name) <= ALIAS_MAX_LENGTH and _ALIAS_RE.match(name) is not None
