"""Anthropic Messages API: ``translate`` (pure) and ``client`` (httpx)."""
