"""Render latency: Cachet's render path beside a bare Jinja2 render of the same text.

Cachet's path is what a send does before the network: check the variables, render
every field in the sandbox under its limits, build the canonical request, compute
every checkpoint's fingerprint and token estimate, translate to the Anthropic wire
format and serialize it. The baseline renders the same template strings with a plain
``jinja2.Environment`` and ``json.dumps`` the same structure. Both run in this
process, interleaved, so the ratio is measured side by side.

    .venv/bin/python benchmarks/render.py [--quick]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer iterations")
    args = parser.parse_args()
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


if __name__ == "__main__":
    main()
