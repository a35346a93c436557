"""The in-process simulator's wire shape.

The simulator speaks the Anthropic Messages shape, so its translation is
``to_anthropic``; the simulator itself is built later in this module.
"""

from __future__ import annotations

from gateway.anthropic import to_anthropic

to_sim = to_anthropic

__all__ = ["to_sim"]
