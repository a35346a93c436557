"""Amazon Bedrock Converse / ConverseStream through boto3, off the event loop.

``BedrockClient`` only does I/O: boto3 is synchronous, so calls run in worker threads of
the client's own, as many as the connection limit allows (``MAX_CONNECTIONS``; the event
loop's default executor has five or six on a small machine, which would cap the sends in
flight); retries are botocore's own (standard mode). The boto3 plumbing (call arguments, error
mapping, the thread-to-async bridge, the stream fold) lives in ``gateway.bedrock.boto``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from gateway.base import Wire
from gateway.bedrock.boto import (
    ConverseStreamFold,
    boto3_kwargs,
    iterate_in_thread,
    keep_read_timeouts,
    mapped_errors,
)
from gateway.bedrock.translate import NAME, from_converse, to_converse
from gateway.errors import ProviderUnavailableError
from gateway.http import DEFAULT_LIMITS, pool_limits
from gateway.types import (
    ChatRequest,
    Result,
    StreamEvent,
)

DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_TIMEOUT = 600.0
DEFAULT_MAX_ATTEMPTS = 3  # tries in all, as in gateway.retry


class BedrockClient:
    """Converse and ConverseStream through one boto3 ``bedrock-runtime`` client.

    Credentials come from the standard AWS chain; without any, the first call raises
    ProviderUnavailableError. botocore retries throttling, 5xx and connection errors
    (standard mode, ``max_attempts`` tries in all), never read timeouts.
    """

    name = NAME

    def __init__(
        self,
        region: str,
        *,
        endpoint_url: str | None = None,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        read_timeout: float = DEFAULT_TIMEOUT,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        max_connections: int = DEFAULT_LIMITS.max_connections or 4096,
        max_keepalive: int = DEFAULT_LIMITS.max_keepalive_connections or 256,
    ) -> None:
        import boto3
        from botocore.config import Config

        # botocore's "max_attempts" counts retries only; "total_max_attempts" counts tries.
        retries = {"total_max_attempts": max_attempts, "mode": "standard"}
        config = Config(
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            retries=retries,
            max_pool_connections=max(1, min(max_keepalive, max_connections)),
        )
        # One thread per call in flight, up to the connection limit; started as needed.
        self._threads = ThreadPoolExecutor(
            max_workers=max(1, max_connections), thread_name_prefix="cachet-bedrock"
        )
        session = boto3.session.Session(region_name=region)
        # botocore resolves the credential chain here; only "none at all" waits for first use.
        with mapped_errors():
            self._client = session.client(
                "bedrock-runtime", endpoint_url=endpoint_url, config=config
            )
        self._client.meta.events.register_first("needs-retry.bedrock-runtime", keep_read_timeouts)

    @classmethod
    def unavailable(cls, config: Mapping[str, Any]) -> str | None:
        """Why ``config`` cannot build a client: no region (credentials are looked up at
        the first call, through the standard AWS chain)."""
        return None if config.get("AWS_REGION") else "AWS_REGION is not set"

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> BedrockClient:
        """The client for the GATEWAY settings; ProviderUnavailableError without AWS_REGION."""
        reason = cls.unavailable(config)
        if reason is not None:
            raise ProviderUnavailableError(NAME, reason)
        limits = pool_limits(config)
        return cls(
            config["AWS_REGION"],
            endpoint_url=config.get("AWS_ENDPOINT_URL_BEDROCK_RUNTIME") or None,
            connect_timeout=config.get("CONNECT_TIMEOUT") or DEFAULT_CONNECT_TIMEOUT,
            read_timeout=config.get("TIMEOUT") or DEFAULT_TIMEOUT,
            max_attempts=config.get("MAX_ATTEMPTS") or DEFAULT_MAX_ATTEMPTS,
            max_connections=limits.max_connections or DEFAULT_LIMITS.max_connections or 4096,
            max_keepalive=limits.max_keepalive_connections or 1,
        )

    async def send(self, request: ChatRequest, wire: Wire | None = None) -> Result:
        """One Converse call in a worker thread; raises gateway.errors only."""
        kwargs = boto3_kwargs(wire or to_converse(request))
        call = functools.partial(self._client.converse, **kwargs)
        with mapped_errors():
            response = await asyncio.get_running_loop().run_in_executor(self._threads, call)
        return from_converse(response)

    async def stream(
        self, request: ChatRequest, wire: Wire | None = None
    ) -> AsyncIterator[StreamEvent]:
        """ConverseStream: a ``delta`` per text delta, then one ``done`` with the Result."""
        kwargs = boto3_kwargs(wire or to_converse(request))
        metadata: dict[str, Any] = {}

        def open_stream() -> Any:
            response = self._client.converse_stream(**kwargs)
            metadata.update(response.get("ResponseMetadata", {}))
            return response["stream"]

        fold = ConverseStreamFold()
        started = False
        events = contextlib.aclosing(iterate_in_thread(open_stream))
        with mapped_errors(metadata):
            async with events as stream:
                async for event in stream:
                    if not started:  # the event stream is open: the answer has begun
                        started = True
                        yield StreamEvent("start")
                    text = fold.add(event)
                    if text:
                        yield StreamEvent("delta", text=text)
        yield StreamEvent("done", result=from_converse(fold.body(metadata)))

    async def aclose(self) -> None:
        """Close the boto3 client's connection pool and let its threads go."""
        self._client.close()
        self._threads.shutdown(wait=False)
