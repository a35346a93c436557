"""OpenAI Chat Completions and compatible servers: ``translate`` (pure) and ``client`` (httpx)."""
