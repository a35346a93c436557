"""A render's checkpoints: fingerprints, prefix tokens, cache status and warnings. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from gateway.catalog import ModelProfile, close_matches
from gateway.tokens import block_tokens
from gateway.types import ChatRequest

from .body import Body
from .canonical import fingerprints

if TYPE_CHECKING:
    from .rendering import CompiledBody


@dataclass(frozen=True)
class CheckpointResult:
    """One rendered checkpoint: where it is, what it closes, and whether it will cache."""

    ordinal: int
    path: str
    section: str
    ttl: str | None
    fingerprint: str
    tokens: int
    min_tokens: int
    status: str  # will_cache | below_minimum | over_cache_limit | not_cacheable


def checkpoint_results(
    body: Body, request: ChatRequest, profile: ModelProfile, prefix_tokens: list[int] | None = None
) -> tuple[CheckpointResult, ...]:
    """Each checkpoint's fingerprint, prefix tokens and status.

    ``prefix_tokens`` (one per checkpoint) replaces the offline estimate when exact
    counts are known.
    """
    # A tool-call checkpoint closes the block its call rides on: its fingerprint is that
    # block's prefix (the marker itself is in the canonical text of the message).
    block_paths = [body.blocks[c.block_index][0] for c in body.checkpoints]
    prints = fingerprints(request, block_paths)
    if prefix_tokens is None:
        tokens = block_tokens(request, profile.tokenizer)
        prefix_tokens = [sum(tokens[: c.block_index + 1]) for c in body.checkpoints]
    results = []
    for checkpoint, count in zip(body.checkpoints, prefix_tokens, strict=True):
        if (
            checkpoint.section not in profile.cacheable_fields
            or checkpoint.ordinal > profile.max_checkpoints
        ):
            status = "not_cacheable"
        elif count < profile.min_tokens:
            status = "below_minimum"
        elif profile.max_cacheable_tokens and count > profile.max_cacheable_tokens:
            status = "over_cache_limit"
        else:
            status = "will_cache"
        results.append(
            CheckpointResult(
                ordinal=checkpoint.ordinal,
                path=checkpoint.path,
                section=checkpoint.section,
                ttl=checkpoint.ttl,
                fingerprint=prints[block_paths[checkpoint.ordinal - 1]],
                tokens=count,
                min_tokens=profile.min_tokens,
                status=status,
            )
        )
    return tuple(results)


def checkpoint_warnings(
    compiled: CompiledBody, checkpoints: tuple, profile: ModelProfile
) -> list[dict]:
    """The warnings of ``checkpoints`` and of per-request variables used in the prefix."""
    warnings = []
    for c in checkpoints:
        prefix = f"checkpoint {c.ordinal} closes a prefix of about {c.tokens:,} tokens"
        message = {
            "below_minimum": f"{prefix}, below the {profile.min_tokens:,} that {profile.model} "
            "needs: it will not be cached (the provider reports no error)",
            "over_cache_limit": f"{prefix}, over the {profile.max_cacheable_tokens or 0:,} that "
            f"{profile.model} can cache",
            "not_cacheable": f"{profile.model} cannot cache checkpoint {c.ordinal} (in "
            f"{c.section}); it will be ignored",
        }.get(c.status)
        if message:
            warnings.append({"code": c.status, "path": c.path, "message": message})
    for name in compiled.prefix_variables:
        spec = compiled.body.variables.get(name)
        if spec is not None and spec.per_request:
            warnings.append(
                {
                    "code": "per_request_prefix_variable",
                    "path": f"variables.{name}",
                    "message": f"'{name}' is declared per_request but is used before the last "
                    "checkpoint: every call will write a new cache entry",
                }
            )
    return warnings


def render_warnings(
    compiled: CompiledBody, checkpoints: tuple[CheckpointResult, ...], profile: ModelProfile
) -> tuple[dict[str, str], ...]:
    """A render's warnings: its checkpoints' and, for a model the catalog lacks, that one."""
    unknown = [] if profile.known else [unknown_model_warning(profile)]
    return tuple(checkpoint_warnings(compiled, checkpoints, profile) + unknown)


def unknown_model_warning(profile: ModelProfile) -> dict[str, str]:
    """The warning for a model the catalog does not list, which gets its provider's defaults."""
    matches = close_matches(profile.model)
    return {
        "code": "unknown_model_limits",
        "path": "model",
        "message": (
            f"{profile.model} is not in the model catalog: its caching limits are unknown, so "
            f"the conservative defaults of {profile.provider} are used (minimum "
            f"{profile.min_tokens:,} tokens, {profile.max_checkpoints} checkpoints, TTLs "
            f"{', '.join(profile.ttls)}) and costs are not computed; add it to a catalog file "
            "(CACHET_CATALOG_FILE) to lift this"
            + (f" (close matches: {', '.join(matches)})" if matches else "")
        ),
    }
