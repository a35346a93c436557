"""Django's stock middleware, run on the event loop where that cannot block.

Under ASGI, Django runs every ``process_request`` and ``process_response`` of a sync
middleware in a worker thread: two thread hops per middleware and request, about
14 for the stack in settings.py, each a wake-up of another thread. These only read
headers, set attributes and add headers, so they run in place. The two that can touch
the database (saving a session, storing messages in it) still go to a thread when, and
only when, they have something to save; the CSRF check still goes to a thread for views
that are not exempt, since it may read a form body.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from asgiref.sync import sync_to_async
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpRequest, HttpResponseBase
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.middleware.common import CommonMiddleware
from django.middleware.csrf import CsrfViewMiddleware
from django.middleware.security import SecurityMiddleware


class InPlace:
    """Mixin: an ``__acall__`` that calls the sync hooks directly, unless
    ``response_blocks`` says the response hook has database work to do."""

    process_request: Callable[[HttpRequest], HttpResponseBase | None]
    process_response: Callable[[HttpRequest, HttpResponseBase], HttpResponseBase]
    get_response: Callable[..., Any]

    def response_blocks(self, request: HttpRequest) -> bool:
        return False

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        response = None
        if hasattr(self, "process_request"):
            response = self.process_request(request)
        response = response or await self.get_response(request)
        if hasattr(self, "process_response"):
            if self.response_blocks(request):
                response = await sync_to_async(self.process_response, thread_sensitive=True)(
                    request, response
                )
            else:
                response = self.process_response(request, response)
        return response


class Security(InPlace, SecurityMiddleware):
    pass


class Sessions(InPlace, SessionMiddleware):
    def response_blocks(self, request: HttpRequest) -> bool:
        # A session that was never read is never saved; one that was may be.
        session = getattr(request, "session", None)
        return session is not None and session.accessed


class Common(InPlace, CommonMiddleware):
    pass


class Csrf(InPlace, CsrfViewMiddleware):
    async def process_view(  # type: ignore[override]
        self, request: HttpRequest, callback: Any, callback_args: Any, callback_kwargs: Any
    ) -> HttpResponseBase | None:
        if getattr(callback, "csrf_exempt", False):
            return None
        return await sync_to_async(super().process_view, thread_sensitive=True)(
            request, callback, callback_args, callback_kwargs
        )


class Authentication(InPlace, AuthenticationMiddleware):
    pass


class Messages(InPlace, MessageMiddleware):
    def response_blocks(self, request: HttpRequest) -> bool:
        storage = getattr(request, "_messages", None)
        return storage is not None and bool(storage.used or storage.added_new)


class XFrameOptions(InPlace, XFrameOptionsMiddleware):
    pass
