"""The boto3 side of ``BedrockClient``: call arguments, error mapping, and streaming.

* ``boto3_kwargs`` turns the ``to_converse`` payload into ``converse`` arguments.
* ``map_error`` / ``mapped_errors`` translate botocore and urllib3 exceptions into
  ``gateway.errors``, once, at the boundary; ``keep_read_timeouts`` stops botocore
  from retrying read timeouts.
* boto3 reads the event stream with blocking socket reads, so ``iterate_in_thread``
  opens and iterates it in a worker thread and hands each item to the event loop
  through an ``asyncio.Queue`` (``loop.call_soon_threadsafe``).
* ``ConverseStreamFold`` rebuilds a Converse response body from the stream events, so
  ``from_converse`` normalizes streamed and unstreamed answers the same way.

botocore is imported only inside functions: importing this module stays cheap.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from typing import Any, Protocol, TypeVar

from gateway.errors import (
    AuthenticationError,
    BadRequestError,
    GatewayError,
    MalformedResponseError,
    OverloadedError,
    ProviderConnectionError,
    ProviderError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    RateLimitError,
    ServerError,
    StreamInterruptedError,
)

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)
PROVIDER = "bedrock"

_ERRORS_BY_CODE: dict[str, type[ProviderError]] = {
    # Exception events inside a stream spell these with a lower-case first letter.
    "throttlingexception": RateLimitError,
    "modelnotreadyexception": RateLimitError,
    "servicequotaexceededexception": RateLimitError,
    "validationexception": BadRequestError,
    "resourcenotfoundexception": BadRequestError,
    "accessdeniedexception": AuthenticationError,
    "unrecognizedclientexception": AuthenticationError,
    "serviceunavailableexception": ServerError,
    "internalserverexception": ServerError,
    "modelerrorexception": ServerError,
    "modelstreamerrorexception": ServerError,
}
_BY_STATUS: dict[int | None, type[ProviderError]] = {
    401: AuthenticationError,
    403: AuthenticationError,
    429: RateLimitError,
    529: OverloadedError,
}
_NO_CREDENTIALS = (
    "no AWS credentials found in the standard chain (environment, shared config and "
    "credentials files, SSO, container or instance role)"
)


def map_error(exc: Exception, request_id: str | None = None) -> GatewayError | None:
    """The gateway error for a botocore or urllib3 exception; None for any other exception."""
    from botocore import exceptions as boto
    from urllib3 import exceptions as http

    if isinstance(exc, boto.ClientError):
        return _client_error(exc.response, request_id)
    if isinstance(exc, boto.NoCredentialsError):
        return ProviderUnavailableError(PROVIDER, _NO_CREDENTIALS)
    if isinstance(exc, boto.PartialCredentialsError | boto.CredentialRetrievalError):
        # Only the provider's name: a credential process's own message could echo a secret.
        source = exc.kwargs.get("provider", "the standard chain")
        return ProviderUnavailableError(PROVIDER, f"incomplete AWS credentials from {source}")
    if isinstance(exc, boto.ReadTimeoutError | http.ReadTimeoutError):  # urllib3's: mid-stream
        return ProviderTimeoutError(PROVIDER, f"read timed out: {exc}")
    if isinstance(exc, boto.ConnectionError | boto.ConnectionClosedError):
        return ProviderConnectionError(PROVIDER, str(exc))
    if isinstance(exc, http.ProtocolError | boto.ResponseStreamingError):
        return StreamInterruptedError(PROVIDER, None, f"the event stream broke: {exc}", request_id)
    if isinstance(exc, boto.ParamValidationError):
        return BadRequestError(PROVIDER, None, str(exc))
    return ProviderError(PROVIDER, None, str(exc)) if isinstance(exc, boto.BotoCoreError) else None


def _client_error(response: Mapping[str, Any], request_id: str | None) -> GatewayError:
    error, metadata = response.get("Error", {}), response.get("ResponseMetadata", {})
    code = str(error.get("Code") or "")
    message = str(error.get("Message") or code or "unknown error")
    status = metadata.get("HTTPStatusCode")  # None for an exception event inside a stream
    request_id = metadata.get("RequestId") or request_id
    if code.lower() == "modeltimeoutexception":
        return ProviderTimeoutError(PROVIDER, message)
    kind = _ERRORS_BY_CODE.get(code.lower()) or _BY_STATUS.get(status)
    if kind is None:
        kind = ServerError if (status or 0) >= 500 else BadRequestError if status else ProviderError
    return kind(PROVIDER, status, message, request_id)


@contextlib.contextmanager
def mapped_errors(metadata: Mapping[str, Any] | None = None) -> Iterator[None]:
    """Raise botocore and urllib3 exceptions as gateway errors, once, at the boundary."""
    try:
        yield
    except GatewayError:
        raise
    except Exception as exc:
        error = map_error(exc, (metadata or {}).get("RequestId"))
        if error is None:
            raise
        raise error from exc


def keep_read_timeouts(caught_exception: Exception | None = None, **_: Any) -> bool | None:
    """A botocore ``needs-retry`` handler that vetoes retrying a read timeout."""
    # Read timeouts are not retried: the provider may already have billed the call.
    # False, unlike None, makes botocore's endpoint skip the retry whatever later handlers say.
    from botocore.exceptions import ReadTimeoutError

    return False if isinstance(caught_exception, ReadTimeoutError) else None


def boto3_kwargs(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The ``converse`` arguments: ``payload`` with image bytes decoded; botocore re-encodes."""
    messages = [{**m, "content": [_decoded(b) for b in m["content"]]} for m in payload["messages"]]
    return {**payload, "messages": messages}


def _decoded(block: Mapping[str, Any]) -> Mapping[str, Any]:
    """``block`` with its image bytes, or those inside its toolResult, decoded."""
    if "toolResult" in block:
        result = block["toolResult"]
        content = [_decoded(item) for item in result["content"]]
        return {**block, "toolResult": {**result, "content": content}}
    source = block.get("image", {}).get("source", {})
    if isinstance(source.get("bytes"), str):
        data = base64.b64decode(source["bytes"], validate=True)
        return {**block, "image": {**block["image"], "source": {**source, "bytes": data}}}
    return block


_ITEM, _END, _ERROR = "item", "end", "error"


class ClosableIterator(Protocol[T_co]):
    """An iterable with a ``close()`` that ends it, like botocore's EventStream."""

    def __iter__(self) -> Iterator[T_co]: ...

    def close(self) -> None: ...


class _Worker:
    """Iterates the stream in a daemon thread and posts items to the loop's queue."""

    def __init__(self, open_stream: Callable[[], ClosableIterator[Any]]) -> None:
        self.loop = asyncio.get_running_loop()
        self.queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self.stopped = threading.Event()
        self.stream: ClosableIterator[Any] | None = None
        self._open_stream = open_stream
        self.thread = threading.Thread(target=self._run, name="bedrock-stream", daemon=True)

    def _post(self, kind: str, value: Any) -> None:
        if self.stopped.is_set():
            return
        # The loop may already be closed if the consumer went away without closing us.
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(self.queue.put_nowait, (kind, value))

    def _run(self) -> None:
        try:
            self.stream = self._open_stream()
            for item in self.stream:
                if self.stopped.is_set():
                    break
                self._post(_ITEM, item)
        except Exception as exc:
            self._post(_ERROR, exc)
        else:
            self._post(_END, None)
        finally:
            self.close()

    def close(self) -> None:
        """Close the stream; only the worker calls this, as it waits for any read in progress."""
        if self.stream is not None:
            with contextlib.suppress(Exception):
                self.stream.close()

    def interrupt(self) -> None:
        """Tell the worker to stop, and end a read it is blocked in where urllib3 allows."""
        self.stopped.set()
        # Closing the stream from here would wait for the blocked read, and so block the
        # loop; shutting the socket down ends that read at once (urllib3 >= 2.3). botocore's
        # EventStream has no public handle on its HTTP response. Without one, the worker
        # stops at its next event or at the read timeout.
        shutdown = getattr(getattr(self.stream, "_raw_stream", None), "shutdown", None)
        if shutdown is not None:
            with contextlib.suppress(Exception):  # already finished and released: nothing to end
                shutdown()


async def iterate_in_thread(open_stream: Callable[[], ClosableIterator[T]]) -> AsyncIterator[T]:
    """Yield the items of ``open_stream()``, which is called and iterated in a worker thread.

    Exceptions from the thread are re-raised here, unmapped. If the consumer stops
    early, the worker is interrupted (see ``_Worker.interrupt``) and closes the stream.
    """
    worker = _Worker(open_stream)
    worker.thread.start()
    try:
        while True:
            kind, value = await worker.queue.get()
            if kind == _END:
                return
            if kind == _ERROR:
                raise value
            yield value
    finally:
        worker.interrupt()


class ConverseStreamFold:
    """Collects ConverseStream events (as boto3 parses them) into a Converse response body."""

    def __init__(self) -> None:
        self.blocks: dict[int, dict[str, Any]] = {}
        self.tool_inputs: dict[int, list[str]] = {}
        self.stop_reason: str | None = None
        self.metadata: Mapping[str, Any] | None = None

    def add(self, event: Mapping[str, Any]) -> str:
        """Take one event; returns its text delta, or "" when it has none."""
        if "contentBlockStart" in event:
            start = event["contentBlockStart"]
            tool_use = start.get("start", {}).get("toolUse")
            if tool_use is not None:
                self.blocks[start.get("contentBlockIndex")] = {"toolUse": dict(tool_use)}
                self.tool_inputs[start.get("contentBlockIndex")] = []
        elif "contentBlockDelta" in event:
            return self._delta(event["contentBlockDelta"])
        elif "messageStop" in event:
            self.stop_reason = event["messageStop"].get("stopReason")
        elif "metadata" in event:
            self.metadata = event["metadata"]
        return ""

    def _delta(self, event: Mapping[str, Any]) -> str:
        index, delta = event.get("contentBlockIndex"), event.get("delta", {})
        if "text" in delta:
            block = self.blocks.setdefault(index, {"text": ""})
            block["text"] += delta["text"]
            return str(delta["text"])
        if "toolUse" in delta:
            if index not in self.tool_inputs:
                detail = f"toolUse delta for block {index}, which never started"
                raise MalformedResponseError(PROVIDER, None, detail)
            self.tool_inputs[index].append(delta["toolUse"].get("input", ""))
        return ""

    def body(self, response_metadata: Mapping[str, Any]) -> dict[str, Any]:
        """The Converse response; StreamInterruptedError if messageStop or metadata never came."""
        request_id = response_metadata.get("RequestId")
        if self.stop_reason is None or self.metadata is None:
            detail = "the stream ended before its messageStop and metadata events"
            raise StreamInterruptedError(PROVIDER, None, detail, request_id)
        for index, pieces in self.tool_inputs.items():
            try:
                self.blocks[index]["toolUse"]["input"] = json.loads("".join(pieces) or "{}")
            except json.JSONDecodeError as exc:
                detail = f"toolUse input of block {index} is not JSON"
                raise MalformedResponseError(PROVIDER, None, detail, request_id) from exc
        content = [self.blocks[index] for index in sorted(self.blocks)]
        return {
            "output": {"message": {"role": "assistant", "content": content}},
            "stopReason": self.stop_reason,
            "usage": self.metadata.get("usage"),
            "metrics": self.metadata.get("metrics"),
            "ResponseMetadata": dict(response_metadata),
        }
