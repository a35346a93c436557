"""Render latency: Cachet's render path beside a bare Jinja2 render of the same text, and
the send path's render with its prefix cache off and on.

Cachet's path is what a send does before the network: check the variables, render
every field in the sandbox under its limits, build the canonical request, compute
every checkpoint's fingerprint and token estimate, translate to the Anthropic wire
format and serialize it. The baseline renders the same template strings with a plain
``jinja2.Environment`` and ``json.dumps`` the same structure. Both run in this
process, interleaved, so the ratio is measured side by side.

The second table times ``services.version_render`` (render and translate, as a send does)
for a ~40 KB document before the last checkpoint, stored in the template or passed as the
variable ``document``, with the prefix cache off (``CACHET_PREFIX_CACHE_BYTES=0``: every
field rendered, every fingerprint hashed) and on (hits: only the suffix rendered), interleaved.
``--profile`` adds where the time of one ``version_render`` goes, by stage, under cProfile.

    .venv/bin/python benchmarks/render.py [--quick] [--profile]
"""

from __future__ import annotations

import argparse
import copy
import cProfile
import os
import pstats
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jinja2

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gateway.registry import translate  # noqa: E402
from gateway.wire import dumps  # noqa: E402
from templates_app.engine.rendering import compile_body, render  # noqa: E402

SENTENCE = "Clause {n}. The provider keeps each customer's data in the region they chose. "
INSTRUCTIONS = "You answer questions about the agreement below. Quote clause numbers. " * 8
SIZES = {"1k": 1_000, "10k": 10_000, "100k": 100_000}


def make_document(tokens: int) -> str:
    """About ``tokens`` tokens of text (4 characters a token)."""
    parts, length, n = [], 0, 0
    while length < tokens * 4:
        n += 1
        sentence = SENTENCE.format(n=n)
        parts.append(sentence)
        length += len(sentence)
    return "".join(parts)


BODY = {
    "model": "anthropic/claude-sonnet-4-5",
    "params": {"max_tokens": 512, "temperature": 0},
    "variables": {
        "document": {"type": "string"},
        "question": {"type": "string"},
        "words": {"type": "integer", "default": 50},
    },
    "messages": [
        {
            "role": "system",
            "content": [
                {"type": "text", "text": INSTRUCTIONS},
                {"type": "text", "text": "{{ document }}", "cache_control": {"type": "ephemeral"}},
            ],
        },
        {"role": "user", "content": "Answer in {{ words }} words: {{ question }}"},
    ],
}


def cachet_path(document: str) -> Callable[[int], bytes]:
    compiled = compile_body(BODY)

    def run(i: int) -> bytes:
        result = render(compiled, {"document": document, "question": f"Question {i}?"})
        return dumps(translate(result.request))

    return run


def bare_path(document: str) -> Callable[[int], bytes]:
    env = jinja2.Environment()
    system = env.from_string("{{ document }}")
    user = env.from_string("Answer in {{ words }} words: {{ question }}")

    def run(i: int) -> bytes:
        values = {"document": document, "question": f"Question {i}?", "words": 50}
        payload = {
            "model": "claude-sonnet-4-5",
            "max_tokens": 512,
            "system": [
                {"type": "text", "text": INSTRUCTIONS},
                {
                    "type": "text",
                    "text": system.render(values),
                    "cache_control": {"type": "ephemeral"},
                },
            ],
            "messages": [{"role": "user", "content": user.render(values)}],
            "temperature": 0,
        }
        return dumps(payload)

    return run


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def measure(runs: dict[str, Callable[[int], bytes]], iterations: int) -> dict[str, list[float]]:
    """Time each path ``iterations`` times, interleaved, after a warm-up."""
    for run in runs.values():
        for i in range(min(20, iterations)):
            run(i)
    samples: dict[str, list[float]] = {name: [] for name in runs}
    for i in range(iterations):
        for name, run in runs.items():
            start = time.perf_counter()
            run(i)
            samples[name].append((time.perf_counter() - start) * 1000)
    return samples


# Stages of one version_render, as (label, file suffix, function) of the profile.
STAGES = [
    ("variable checks", "engine/rendering.py", "resolve_variables"),
    ("prefix key + lookup", "engine/splice.py", "prefix_key"),
    ("Jinja render (sandbox, deadline)", "engine/rendering.py", "render_fields"),
    ("request build", "engine/body.py", "to_request"),
    ("fingerprints (JSON + sha256)", "engine/canonical.py", "fingerprints"),
    ("token estimates", "gateway/tokens.py", "block_tokens"),
    ("translate (registry.translate)", "gateway/registry.py", "translate"),
    ("version_render, all of it", "templates_app/services.py", "version_render"),
]


def send_shapes() -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """The two bodies (a ~40 KB document stored, or passed as a variable) and their values."""
    document = make_document(10_000)
    stored = copy.deepcopy(BODY)
    del stored["variables"]["document"]
    stored["messages"][0]["content"][1]["text"] = document
    return {"stored": (stored, {}), "variable": (BODY, {"document": document})}


def send_render(body: dict[str, Any], values: dict[str, Any], cached: bool) -> Callable[[int], Any]:
    """``services.version_render`` of an unsaved version of ``body``, prefix cache on or off."""
    from django.conf import settings

    from templates_app import services
    from templates_app.engine.rendering import body_text
    from templates_app.models import Version

    compiled = compile_body(body)
    version = Version(
        number=1, body=body_text(compiled.body.data), content_hash=compiled.content_hash
    )
    bound = 64 * 1024 * 1024 if cached else 0

    def run(i: int) -> Any:
        settings.CACHET["PREFIX_CACHE_BYTES"] = bound
        return services.version_render(version, None, {**values, "question": f"Q{i}?"}, model=None)

    return run


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("SECRET_KEY", "benchmarks-render-not-a-secret")
    import django

    django.setup()


def send_table(iterations: int) -> None:
    """µs per version_render, prefix cache off beside on, for both body shapes; and the
    client's serialization of the wire body, which follows either."""
    print(f"\nversion_render, ~40 KB prefix, {iterations} renders each (microseconds)")
    print(
        f"{'document':>9} {'off p50':>9} {'p99':>8} {'on p50':>9} {'p99':>8} {'speedup':>8}"
        f" {'wire JSON p50':>14}"
    )
    for name, (body, values) in send_shapes().items():
        off, on = send_render(body, values, False), send_render(body, values, True)
        wire = on(0).wire
        runs = {"off": off, "on": on, "wire": lambda i, wire=wire: dumps(wire)}
        samples = measure(runs, iterations)
        off50, off99, on50, on99, wire50 = (
            percentile(samples[run], q) * 1000
            for run, q in (("off", 0.5), ("off", 0.99), ("on", 0.5), ("on", 0.99), ("wire", 0.5))
        )
        print(
            f"{name:>9} {off50:>9.1f} {off99:>8.1f} {on50:>9.1f} {on99:>8.1f}"
            f" {off50 / on50:>7.1f}x {wire50:>14.1f}"
        )


def stage_times(run: Callable[[int], Any], iterations: int) -> dict[str, float]:
    """Cumulative µs per render of each stage in ``STAGES``, under cProfile."""
    for i in range(20):
        run(i)
    profile = cProfile.Profile()
    profile.enable()
    for i in range(iterations):
        run(i)
    profile.disable()
    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    times = dict.fromkeys((label for label, _, _ in STAGES), 0.0)
    for (filename, _, function), (_, _, _, cumulative, _) in stats.items():
        for label, suffix, name in STAGES:
            if function == name and filename.endswith(suffix):
                times[label] += cumulative / iterations * 1e6
    return times


def profile_table(iterations: int) -> None:
    """Where one version_render's time goes, by stage, for each shape, cache off and on."""
    print(f"\nwhere version_render's time goes (cProfile, µs per render; {iterations} renders)")
    columns = [(n, c) for n in send_shapes() for c in (False, True)]
    header = "".join(f"{n + (' on' if c else ' off'):>14}" for n, c in columns)
    print(f"{'stage':<34}{header}")
    results = [stage_times(send_render(*send_shapes()[n], c), iterations) for n, c in columns]
    for label, _, _ in STAGES:
        print(f"{label:<34}" + "".join(f"{r[label]:>14.1f}" for r in results))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer iterations")
    parser.add_argument("--profile", action="store_true", help="time version_render by stage")
    args = parser.parse_args()
    setup_django()
    iterations = {"1k": 2000, "10k": 1000, "100k": 200}
    if args.quick:
        iterations = {name: max(20, n // 20) for name, n in iterations.items()}
    print(
        f"{'prefix':>7} {'iters':>6} {'cachet p50':>11} {'p99':>8} {'bare p50':>9} {'p99':>8}"
        f" {'ratio p50':>10} {'ratio p99':>10}   (milliseconds)"
    )
    for name, tokens in SIZES.items():
        document = make_document(tokens)
        samples = measure(
            {"cachet": cachet_path(document), "bare": bare_path(document)}, iterations[name]
        )
        c50, c99 = percentile(samples["cachet"], 0.5), percentile(samples["cachet"], 0.99)
        b50, b99 = percentile(samples["bare"], 0.5), percentile(samples["bare"], 0.99)
        print(
            f"{name:>7} {iterations[name]:>6} {c50:>11.3f} {c99:>8.3f} {b50:>9.3f} {b99:>8.3f}"
            f" {c50 / b50:>9.2f}x {c99 / b99:>9.2f}x"
        )
    send_table(100 if args.quick else 2000)
    if args.profile:
        profile_table(100 if args.quick else 1000)


if __name__ == "__main__":
    main()
