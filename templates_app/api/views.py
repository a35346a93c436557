"""REST API views: input serializer, one service or selector, output serializer."""

from __future__ import annotations

import inspect
from dataclasses import asdict
from typing import Any, ClassVar

import adrf.views
from django.http import HttpResponse, StreamingHttpResponse
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import ParseError
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import selectors, services
from ..models import ApiKey
from ..sending.dbthreads import run_db
from ..sending.flow import send_payload, send_prepare, template_send, template_stream
from ..sending.recording import SendCall
from .auth import actor_name, key_of
from .pagination import Pagination
from .serializers import (
    DiffOutputSerializer,
    InvocationFilterSerializer,
    InvocationOutputSerializer,
    LabelMoveInputSerializer,
    LabelOutputSerializer,
    LintInputSerializer,
    PreviewInputSerializer,
    RenderInputSerializer,
    RenderOutputSerializer,
    SendInputSerializer,
    StatsFilterSerializer,
    TemplateInputSerializer,
    TemplateOutputSerializer,
    TemplateUpdateSerializer,
    VersionDetailSerializer,
    VersionInputSerializer,
    VersionOutputSerializer,
)

ERROR = inline_serializer(
    "Error",
    {
        "error": inline_serializer(
            "ErrorBody",
            {
                "type": serializers.CharField(),
                "message": serializers.CharField(),
                "details": serializers.JSONField(allow_null=True),
            },
        )
    },
)
ERRORS = {400: ERROR, 401: ERROR, 403: ERROR, 404: ERROR, 429: ERROR}
Scope = ApiKey.Scope
SEND_RESULT = inline_serializer(
    "SendResult",
    {
        "invocation_id": serializers.IntegerField(),
        "template": serializers.CharField(),
        "version": serializers.IntegerField(),
        "label": serializers.CharField(allow_null=True),
        "model": serializers.CharField(),
        "provider": serializers.CharField(),
        "output": serializers.DictField(),
        "usage": serializers.DictField(),
        "cost": serializers.DictField(),
        "checkpoints": serializers.ListField(),
        "miss": serializers.DictField(allow_null=True),
        "latency_ms": serializers.IntegerField(),
        "request_id": serializers.CharField(allow_null=True),
    },
)
PREVIEW = inline_serializer(
    "Preview",
    {
        "lint": serializers.DictField(),
        "blocks": serializers.ListField(),
        "render_error": serializers.DictField(allow_null=True),
        "fields": serializers.DictField(),
    },
)
STATS = inline_serializer(
    "TemplateStats",
    {
        "template": serializers.CharField(),
        "versions": serializers.ListField(child=serializers.DictField()),
    },
)
LINT_REPORT = inline_serializer(
    "LintReport",
    {
        "ok": serializers.BooleanField(),
        "model": serializers.CharField(),
        "errors": serializers.ListField(child=serializers.DictField()),
        "warnings": serializers.ListField(child=serializers.DictField()),
        "checkpoints": serializers.ListField(child=serializers.DictField()),
        "token_method": serializers.CharField(),
        "estimated_with": serializers.CharField(),
        "prefix_variables": serializers.ListField(child=serializers.CharField()),
        "suffix_variables": serializers.ListField(child=serializers.CharField()),
    },
)


def paginated(serializer: type[serializers.Serializer]) -> serializers.Serializer:
    """The schema of a paginated list of ``serializer`` (count, next, previous, results)."""
    name = serializer.__name__.removesuffix("Serializer").removesuffix("Output")
    return inline_serializer(
        f"Paginated{name}List",
        {
            "count": serializers.IntegerField(),
            "next": serializers.CharField(allow_null=True),
            "previous": serializers.CharField(allow_null=True),
            "results": serializer(many=True),
        },
    )


def _valid(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class RequireBodyMixin:
    """A write must carry a body: an empty one is not ``{}``."""

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # type: ignore[misc]
        chunked = "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower()
        length = request.META.get("CONTENT_LENGTH") or "0"
        if request.method in ("POST", "PUT", "PATCH") and length == "0" and not chunked:
            raise ParseError("request body is empty: send a JSON object")


class ApiView(RequireBodyMixin, APIView):
    """Every synchronous endpoint."""

    # The scope an API key needs for each method (auth.KeyHasScope); others are refused.
    scopes: ClassVar[dict[str, str]] = {}


class AsyncApiView(RequireBodyMixin, adrf.views.APIView):
    """Endpoints whose handlers are coroutines (they wait on providers)."""

    scopes: ClassVar[dict[str, str]] = {}

    async def async_dispatch(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        """adrf's dispatch, with authentication, permissions and throttles (which read the
        database) on the long-lived database threads instead of a thread per request."""
        self.args, self.kwargs = args, kwargs
        request = self.initialize_request(request, *args, **kwargs)
        self.request = request
        self.headers = self.default_response_headers
        try:
            await run_db(self._initial_then_prepare, request, *args, **kwargs)
            handler = getattr(self, request.method.lower(), None)
            if request.method.lower() not in self.http_method_names or handler is None:
                handler = self.http_method_not_allowed
            if inspect.iscoroutinefunction(handler):
                response = await handler(request, *args, **kwargs)
            else:
                response = await run_db(handler, request, *args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - DRF turns it into the error answer
            response = self.handle_exception(exc)
        self.response = self.finalize_response(request, response, *args, **kwargs)
        return self.response

    def _initial_then_prepare(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # One thread hop for both: authentication and the handler's database reads.
        self.initial(request, *args, **kwargs)
        prepare = getattr(self, f"prepare_{request.method.lower()}", None)
        if prepare is not None:
            prepare(request, *args, **kwargs)

    # adrf's version always goes through async_to_sync, which from a database thread
    # starts an event loop of its own on every request; these throttles are all sync.
    check_throttles = APIView.check_throttles


def _paginated(request: Request, view: APIView, queryset: Any, serializer: type) -> Response:
    paginator = Pagination()
    page = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(serializer(page, many=True).data)


class TemplateListCreateApi(ApiView):
    scopes = {"GET": Scope.READ, "POST": Scope.WRITE}

    @extend_schema(
        responses={200: paginated(TemplateOutputSerializer), **ERRORS},
        operation_id="templates_list",
    )
    def get(self, request: Request) -> Response:
        queryset = selectors.for_api_key(selectors.template_list(), api_key=key_of(request))
        queryset = queryset.prefetch_related("labels__version")
        return _paginated(request, self, queryset, TemplateOutputSerializer)

    @extend_schema(
        request=TemplateInputSerializer,
        responses={201: TemplateOutputSerializer, 409: ERROR, **ERRORS},
    )
    def post(self, request: Request) -> Response:
        template = services.template_create(**_valid(TemplateInputSerializer, request.data))
        return Response(TemplateOutputSerializer(template).data, status=201)


class TemplateDetailApi(ApiView):
    scopes = {"GET": Scope.READ, "PATCH": Scope.WRITE}

    @extend_schema(responses={200: TemplateOutputSerializer, **ERRORS})
    def get(self, request: Request, slug: str) -> Response:
        return Response(TemplateOutputSerializer(selectors.template_get(slug=slug)).data)

    @extend_schema(
        request=TemplateUpdateSerializer, responses={200: TemplateOutputSerializer, **ERRORS}
    )
    def patch(self, request: Request, slug: str) -> Response:
        template = selectors.template_get(slug=slug)
        fields = _valid(TemplateUpdateSerializer, request.data)
        return Response(
            TemplateOutputSerializer(services.template_update(template=template, **fields)).data
        )


class VersionListCreateApi(ApiView):
    scopes = {"GET": Scope.READ, "POST": Scope.WRITE}

    @extend_schema(
        responses={200: paginated(VersionOutputSerializer), **ERRORS}, operation_id="versions_list"
    )
    def get(self, request: Request, slug: str) -> Response:
        template = selectors.template_get(slug=slug)
        queryset = selectors.version_list(template=template).select_related("template")
        return _paginated(request, self, queryset, VersionOutputSerializer)

    @extend_schema(
        request=VersionInputSerializer, responses={201: VersionDetailSerializer, **ERRORS}
    )
    def post(self, request: Request, slug: str) -> Response:
        template = selectors.template_get(slug=slug)
        data = _valid(VersionInputSerializer, request.data)
        version = services.version_create(
            template=template,
            body=data["body"],
            message=data["message"],
            author=actor_name(request),
        )
        return Response(VersionDetailSerializer(version).data, status=201)


class VersionDetailApi(ApiView):
    scopes = {"GET": Scope.READ}

    @extend_schema(responses={200: VersionDetailSerializer, **ERRORS})
    def get(self, request: Request, slug: str, number: int) -> Response:
        template = selectors.template_get(slug=slug)
        return Response(
            VersionDetailSerializer(selectors.version_get(template=template, number=number)).data
        )


class VersionDiffApi(ApiView):
    scopes = {"GET": Scope.READ}

    @extend_schema(responses={200: DiffOutputSerializer, **ERRORS})
    def get(self, request: Request, slug: str, number: int, other: int) -> Response:
        template = selectors.template_get(slug=slug)
        diff = services.version_diff(
            template=template,
            old=selectors.version_get(template=template, number=number),
            new=selectors.version_get(template=template, number=other),
        )
        payload = {"template": slug, "from_version": number, "to_version": other, **diff}
        return Response(DiffOutputSerializer(payload).data)


class LabelListApi(ApiView):
    scopes = {"GET": Scope.READ}

    @extend_schema(responses={200: LabelOutputSerializer(many=True), **ERRORS})
    def get(self, request: Request, slug: str) -> Response:
        template = selectors.template_get(slug=slug)
        return Response(
            LabelOutputSerializer(selectors.label_list(template=template), many=True).data
        )


class LabelMoveApi(ApiView):
    scopes = {"PUT": Scope.WRITE}

    @extend_schema(
        request=LabelMoveInputSerializer,
        responses={200: LabelOutputSerializer, 403: ERROR, **ERRORS},
    )
    def put(self, request: Request, slug: str, label: str) -> Response:
        template = selectors.template_get(slug=slug)
        data = _valid(LabelMoveInputSerializer, request.data)
        moved = services.label_move(
            template=template,
            label=label,
            version=data["version"],
            moved_by=actor_name(request),
            # The write scope covers protected labels; a signed-in user needs the permission.
            protected_allowed=key_of(request) is not None
            or request.user.has_perm(services.PROTECTED_LABEL_PERMISSION),
        )
        return Response(LabelOutputSerializer(moved).data)


class TemplateRenderApi(ApiView):
    scopes = {"POST": Scope.RENDER}

    @extend_schema(request=RenderInputSerializer, responses={200: RenderOutputSerializer, **ERRORS})
    def post(self, request: Request, slug: str) -> Response:
        template = selectors.template_get(slug=slug)
        data = _valid(RenderInputSerializer, request.data)
        rendered = services.template_render(template=template, **data)
        result = rendered.result
        return Response(
            {
                "template": slug,
                "version": rendered.version.number,
                "label": rendered.label,
                "content_hash": rendered.version.content_hash,
                "model": result.request.model,
                "provider": result.request.provider,
                "request": rendered.wire,
                "checkpoints": [asdict(c) for c in result.checkpoints],
                "prefix_variables": list(result.prefix_variables),
                "suffix_variables": list(result.suffix_variables),
                "warnings": list(result.warnings),
                "token_method": result.token_method,
            }
        )


class TemplateLintApi(ApiView):
    scopes = {"POST": Scope.RENDER}

    @extend_schema(request=LintInputSerializer, responses={200: LINT_REPORT, **ERRORS})
    def post(self, request: Request, slug: str) -> Response:
        template = selectors.template_get(slug=slug)
        data = _valid(LintInputSerializer, request.data)
        if "version" in data:
            body = selectors.version_get(template=template, number=data["version"]).body_data
        else:
            body = data["body"]
        return Response(
            services.version_lint(template=template, body=body, model=data.get("model"))
        )


class TemplateSendApi(AsyncApiView):
    scopes = {"POST": Scope.SEND}

    @extend_schema(
        request=SendInputSerializer,
        responses={200: SEND_RESULT, 502: ERROR, 503: ERROR, 504: ERROR, **ERRORS},
        description="Render and send. With `stream: true` the answer is `text/event-stream`: "
        "`delta` events ({text}), then one `done` event (the JSON below) or one `error`.",
    )
    def prepare_post(self, request: Request, slug: str) -> None:
        """Check the input, resolve and render (on a database thread, after authentication)."""
        data = _valid(SendInputSerializer, request.data)
        self.stream = data.pop("stream")
        self.call = SendCall(slug=slug, api_key=key_of(request), caller=actor_name(request), **data)
        self.rendered = send_prepare(self.call)

    async def post(self, request: Request, slug: str) -> HttpResponse | StreamingHttpResponse:
        if self.stream:
            events = await template_stream(self.call, self.rendered)
            response = StreamingHttpResponse(events, content_type="text/event-stream")
            response["Cache-Control"] = "no-cache"
            response["X-Accel-Buffering"] = "no"
            return response
        invocation, rendered, result = await template_send(self.call, self.rendered)
        # Rendered here, in place: Django would render a DRF Response in a thread of its own.
        body = JSONRenderer().render(send_payload(invocation, rendered, result))
        return HttpResponse(body, content_type="application/json")


class InvocationListApi(ApiView):
    scopes = {"GET": Scope.READ}

    @extend_schema(
        parameters=[InvocationFilterSerializer],
        responses={200: paginated(InvocationOutputSerializer), **ERRORS},
    )
    def get(self, request: Request) -> Response:
        filters = _valid(InvocationFilterSerializer, request.query_params)
        queryset = selectors.for_api_key(
            selectors.invocation_list(**filters), api_key=key_of(request), via="template__"
        )
        return _paginated(request, self, queryset, InvocationOutputSerializer)


class TemplateStatsApi(ApiView):
    scopes = {"GET": Scope.READ}

    @extend_schema(parameters=[StatsFilterSerializer], responses={200: STATS, **ERRORS})
    def get(self, request: Request, slug: str) -> Response:
        template = selectors.template_get(slug=slug)
        filters = _valid(StatsFilterSerializer, request.query_params)
        return Response(
            {"template": slug, "versions": selectors.template_stats(template=template, **filters)}
        )


class TemplatePreviewApi(ApiView):
    scopes = {"POST": Scope.RENDER}

    @extend_schema(
        request=PreviewInputSerializer,
        responses={200: PREVIEW, **ERRORS},
        description="Lint and render an unsaved body (default: the template's sample "
        "variables): the blocks in provider order, cached or not, with checkpoint "
        "badges. Stores nothing, sends nothing.",
    )
    def post(self, request: Request, slug: str) -> Response:
        template = selectors.template_get(slug=slug)
        data = _valid(PreviewInputSerializer, request.data)
        return Response(services.version_preview(template=template, **data))
