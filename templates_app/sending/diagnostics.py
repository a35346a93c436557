"""Provider cache diagnostics: tell the provider which earlier answer this call follows.

For a model whose profile has ``diagnostics`` (the Claude API), the answer id of the
last successful call of the same template, label, model and checkpoint chain (the
paths of its checkpoints) is kept in
Django's cache (Redis when configured, so every process sees it) and sent with the next
call; the provider then says why it missed, and ``recording`` merges that into Cachet's
own explanation. No database query is added to the send path.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from django.core.cache import cache

from gateway.registry import with_diagnostics
from gateway.types import Result

from ..services import Rendered
from .clients import cache_blocks

logger = logging.getLogger(__name__)

KEY_PREFIX = "cachet:previous-answer:"
REMEMBER_SECONDS = 24 * 3600  # longer than any cache TTL: an older answer explains nothing


def chain_key(rendered: Rendered) -> str | None:
    """The cache key of ``rendered``'s checkpoint chain, or None when it has none."""
    checkpoints = rendered.result.checkpoints
    if not checkpoints or not rendered.result.profile.diagnostics:
        return None
    # The chain is where the checkpoints sit, not what they hold: a changed prefix is the
    # very call whose miss the provider should explain.
    chain = hashlib.sha256(",".join(c.path for c in checkpoints).encode()).hexdigest()[:16]
    template, model = rendered.version.template_id, rendered.result.request.model
    return f"{KEY_PREFIX}{template}:{rendered.label}:{model}:{chain}"


async def diagnosed_wire(rendered: Rendered) -> dict[str, Any]:
    """The wire body of ``rendered``, asking for diagnostics when an earlier answer is known."""
    key = chain_key(rendered)
    try:
        previous = None if key is None else await _get(key)
    except Exception:  # diagnostics are a bonus: a cache outage must not fail the send
        logger.warning("cache diagnostics: could not read %s", key, exc_info=True)
        previous = None
    if previous is None:
        return rendered.wire
    return with_diagnostics(rendered.result.request, rendered.wire, previous)


async def remember(rendered: Rendered, result: Result) -> None:
    """Keep ``result``'s answer id as the one the chain's next call follows."""
    key = chain_key(rendered)
    if key is None or not result.response_id:
        return
    try:
        await _set(key, result.response_id)
    except Exception:  # as above: the answer is already there, only the next hint is lost
        logger.warning("cache diagnostics: could not store %s", key, exc_info=True)


# In process memory the cache answers at once: a thread hop would cost more than the call.
async def _get(key: str) -> Any:
    return await cache.aget(key) if cache_blocks() else cache.get(key)


async def _set(key: str, value: str) -> None:
    if cache_blocks():
        await cache.aset(key, value, REMEMBER_SECONDS)
    else:
        cache.set(key, value, REMEMBER_SECONDS)
