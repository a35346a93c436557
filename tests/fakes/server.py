"""A scripted HTTP server on 127.0.0.1 for provider client tests.

Tests queue ``Reply`` objects; each request takes the next one (or the default)
and is recorded with its method, path, headers and body, so a test can assert
on exactly what went over the wire. A reply can wait before answering (for
timeouts), stream its body in chunks with pauses, or cut the connection after
some chunks (for broken streams).
"""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    """What the server answers with for one request."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    chunks: list[bytes] | None = None  # streamed one by one instead of ``body``
    delay: float = 0.0  # seconds before the status line
    chunk_delay: float = 0.0
    cut_after: int | None = None  # close the connection after this many chunks

    @classmethod
    def json(cls, status: int, payload: Any, **kwargs: Any) -> Reply:
        headers = {"content-type": "application/json", **kwargs.pop("headers", {})}
        return cls(status=status, body=json.dumps(payload).encode(), headers=headers, **kwargs)


@dataclass
class Recorded:
    """One request as the server saw it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class _QuietServer(ThreadingHTTPServer):
    # Many clients connect at once in some tests: a real server's backlog, not socketserver's 5
    # (an overflowing backlog drops connects, which a client sees as a connect timeout).
    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client closing a kept-alive connection is normal; anything else is reported.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class FakeServer:
    """Start with ``with FakeServer() as server:``; ``server.url`` is its base URL."""

    def __init__(
        self, default: Reply | None = None, responder: Callable[[Recorded], Reply] | None = None
    ) -> None:
        self.replies: deque[Reply] = deque()
        self.default = default or Reply(status=500, body=b"no reply scripted")
        # Answers computed from each request (a fake that caches), once the script is used up.
        self.responder = responder
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        self._server = _QuietServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def script(self, *replies: Reply) -> None:
        """Queue replies for the next requests, in order."""
        with self._lock:
            self.replies.extend(replies)

    def _next(self, recorded: Recorded) -> Reply:
        with self._lock:
            self.requests.append(recorded)
            if self.replies:
                return self.replies.popleft()
        return self.responder(recorded) if self.responder else self.default

    def __enter__(self) -> FakeServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                reply = server._next(Recorded(self.command, self.path, headers, body))
                time.sleep(reply.delay)
                # The client may have given up already (a timeout test): nothing to do.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self._answer(reply)

            def _answer(self, reply: Reply) -> None:
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                if reply.chunks is None:
                    self.send_header("content-length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                    return
                self.send_header("transfer-encoding", "chunked")
                self.end_headers()
                for index, chunk in enumerate(reply.chunks):
                    if reply.cut_after is not None and index >= reply.cut_after:
                        self.wfile.flush()
                        self.connection.shutdown(socket.SHUT_RDWR)
                        self.close_connection = True
                        return
                    self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                    self.wfile.flush()
                    time.sleep(reply.chunk_delay)
                self.wfile.write(b"0\r\n\r\n")

            do_GET = do_POST = do_PUT = do_DELETE = _serve

        return Handler
