"""The three SDK-compatible endpoints; each is thin: parse, send, answer in the shape.

``POST /openai/v1/chat/completions``, ``POST /openai/v1/responses`` and
``POST /anthropic/v1/messages`` take the provider's own request with a ``prompt`` object
naming the template, send through the template's provider (or the one ``model`` names)
and answer as that provider does, streamed or not. Authentication, scopes and rate
limits are those of the REST API; the key may come as ``Authorization: Bearer`` or
``x-api-key``. Every error is in the provider's error shape.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import extend_schema
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from gateway.errors import BadRequestError, RateLimitError
from gateway.types import Result

from ...engine.errors import NotFoundError
from ...models import ApiKey, Invocation
from ...sending.flow import EventFormat, SendError, send_prepare, template_send, template_stream
from ...sending.recording import SendCall
from ...services import Rendered
from ..auth import IsApiClient, KeyHasScope, actor_name, key_of
from ..exception_handler import exception_handler
from ..views import AsyncApiView
from . import answers, openapi
from .requests import CompatRequest, chat_request, messages_request, responses_request

Scope = ApiKey.Scope


class AnyAccept(BaseContentNegotiation):
    """JSON whatever ``Accept`` says: SDKs send ``text/event-stream`` or ``*/*`` too, and
    a stream is not a DRF response anyway."""

    def select_renderer(self, request: Request, renderers: list, format_suffix: Any = None):
        return renderers[0], renderers[0].media_type

    def select_parser(self, request: Request, parsers: list):
        return next((p for p in parsers if p.media_type == "application/json"), parsers[0])


def _status(exc: Exception, status: int) -> int:
    """The status a provider's SDK should see: a provider's refusal of the request is the
    caller's 400 (not a 502 the SDK would retry), its rate limit a 429."""
    error = getattr(exc, "error", None) if isinstance(exc, SendError) else None
    if isinstance(error, BadRequestError):
        return 400
    if isinstance(error, RateLimitError):
        return 429
    return status


class CompatApi(AsyncApiView):
    """One SDK-compatible endpoint: ``parse`` the provider's body, send, answer its shape."""

    scopes = {"POST": Scope.SEND}
    permission_classes = [IsApiClient, KeyHasScope]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = AnyAccept
    parse: ClassVar[Callable[[Any], CompatRequest]]
    answer: ClassVar[Callable[[Invocation, Rendered, Result], dict[str, Any]]]

    def events(self, compat: CompatRequest) -> EventFormat:
        raise NotImplementedError

    def error_body(self, status: int, message: str, exc: Exception, details: Any) -> dict:
        raise NotImplementedError

    def get_exception_handler(self) -> Callable[[Exception, dict[str, Any]], Response]:
        def handler(exc: Exception, context: dict[str, Any]) -> Response:
            cachet = exception_handler(exc, context)
            status = _status(exc, cachet.status_code)
            error = cachet.data["error"]
            body = self.error_body(status, error["message"], exc, error["details"])
            headers = {k: v for k, v in cachet.items() if k in ("WWW-Authenticate", "Retry-After")}
            return Response(body, status=status, headers=headers or None)

        return handler

    def prepare_post(self, request: Request) -> None:
        """Parse, check the key may use the template, resolve and render (database thread)."""
        self.compat = compat = type(self).parse(request.data)
        key = key_of(request)
        names = key.template_names() if key is not None else ()  # slugs and aliases
        if names and compat.slug not in names:
            raise NotFoundError(f"template '{compat.slug}' not found")
        self.call = SendCall(
            slug=compat.slug,
            variables=compat.variables,
            version=compat.version,
            label=compat.label,
            model=compat.model,
            metadata=compat.metadata,
            api_key=key,
            caller=actor_name(request),
            conversation=compat.conversation,
            params=compat.params,
        )
        self.rendered = send_prepare(self.call)

    async def post(self, request: Request) -> HttpResponse | StreamingHttpResponse:
        if self.compat.stream:
            events = await template_stream(
                self.call, self.rendered, self.events(self.compat), open_first=True
            )
            response = StreamingHttpResponse(events, content_type="text/event-stream")
            response["Cache-Control"] = "no-cache"
            response["X-Accel-Buffering"] = "no"
            return response
        invocation, rendered, result = await template_send(self.call, self.rendered)
        body = JSONRenderer().render(type(self).answer(invocation, rendered, result))
        return HttpResponse(body, content_type="application/json")


class OpenAIApi(CompatApi):
    """An OpenAI endpoint: errors in OpenAI's shape, naming the field at fault (``param``)."""

    def error_body(self, status: int, message: str, exc: Exception, details: Any) -> dict:
        param = getattr(exc, "param", None)
        return answers.openai_error_body(status, message, param=param, details=details)


class ChatCompletionsApi(OpenAIApi):
    parse = staticmethod(chat_request)
    answer = staticmethod(answers.chat_completion)

    def events(self, compat: CompatRequest) -> EventFormat:
        return answers.ChatEvents(compat.include_usage)

    @extend_schema(**openapi.CHAT_COMPLETIONS)
    async def post(self, request: Request) -> HttpResponse | StreamingHttpResponse:
        return await super().post(request)


class ResponsesApi(OpenAIApi):
    parse = staticmethod(responses_request)
    answer = staticmethod(answers.response_object)

    def events(self, compat: CompatRequest) -> EventFormat:
        return answers.ResponsesEvents()

    @extend_schema(**openapi.RESPONSES)
    async def post(self, request: Request) -> HttpResponse | StreamingHttpResponse:
        return await super().post(request)


class MessagesApi(CompatApi):
    parse = staticmethod(messages_request)
    answer = staticmethod(answers.message_object)

    def events(self, compat: CompatRequest) -> EventFormat:
        return answers.MessagesEvents()

    def error_body(self, status: int, message: str, exc: Exception, details: Any) -> dict:
        return answers.anthropic_error_body(status, message, details=details)

    @extend_schema(**openapi.MESSAGES)
    async def post(self, request: Request) -> HttpResponse | StreamingHttpResponse:
        return await super().post(request)


@csrf_exempt
def openai_not_found(request: HttpRequest, path: str = "") -> JsonResponse:
    """Any other URL under /openai/: a 404 in OpenAI's shape."""
    message = f"Cachet serves chat/completions and responses under /openai/v1, not {request.path}"
    return JsonResponse(answers.openai_error_body(404, message), status=404)


@csrf_exempt
def anthropic_not_found(request: HttpRequest, path: str = "") -> JsonResponse:
    """Any other URL under /anthropic/: a 404 in Anthropic's shape."""
    message = f"Cachet serves v1/messages under /anthropic, not {request.path}"
    return JsonResponse(answers.anthropic_error_body(404, message), status=404)
