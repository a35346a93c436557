"""REST API views: input serializer, one service or selector, output serializer."""

from __future__ import annotations

import inspect
from dataclasses import asdict
from typing import Any, ClassVar

import adrf.views
from django.http import HttpResponse, StreamingHttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import NotAcceptable, ParseError
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import selectors, services
from ..models import ApiKey
from ..sending.dbthreads import run_db
from ..sending.flow import send_payload, send_prepare, template_send, template_stream
from ..sending.recording import SendCall
from ..sending.warmup import label_promote
from ..sending.writer import invocations_visible
from . import openapi
from .auth import actor_name, key_of, scope_check
from .openapi import errors
from .pagination import KeysetPagination, Pagination
from .renderers import EventStreamRenderer
from .serializers import (
    CursorPageQuerySerializer,
    DiffOutputSerializer,
    InvocationFilterSerializer,
    InvocationOutputSerializer,
    LabelMoveAnswerSerializer,
    LabelMoveInputSerializer,
    LabelOutputSerializer,
    LintInputSerializer,
    PageQuerySerializer,
    PreviewInputSerializer,
    RenderInputSerializer,
    RenderOutputSerializer,
    SendInputSerializer,
    SendOutputSerializer,
    StatsFilterSerializer,
    StatsVersionOutputSerializer,
    TemplateInputSerializer,
    TemplateOutputSerializer,
    TemplateUpdateSerializer,
    VersionDetailSerializer,
    VersionInputSerializer,
    VersionOutputSerializer,
)

Scope = ApiKey.Scope
RENDER_ERROR_TEXTS: dict[int, str | None] = {
    400: "Invalid input (both `version` and `label`, say), variables that do not match "
    "the declared ones, a template that does not render, or an unknown model.",
    404: "No such template, version or label, or a template without versions.",
}
# One event of the stream, as schemathesis and OpenAPI 3.2 read a text/event-stream schema.
SEND_STREAM = {
    "type": "object",
    "description": "Server-sent events: `delta` events whose data is `{text}`, then one `done` "
    "event whose data is the JSON send result (as for `stream: false`), or one `error` event "
    "whose data is `{type, message, details}` when the provider fails mid-stream.",
    "properties": {
        "event": {"type": "string", "enum": ["delta", "done", "error"]},
        "data": {"type": "string", "description": "a JSON object, on one line"},
    },
    "required": ["event", "data"],
}
PREVIEW = inline_serializer(
    "Preview",
    {
        "content_hash": serializers.CharField(),
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
        "versions": StatsVersionOutputSerializer(many=True),
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


def cursor_paginated(serializer: type[serializers.Serializer]) -> serializers.Serializer:
    """The schema of a list paged by cursor: ``next`` (a link, or null on the last page)
    and ``results``."""
    name = serializer.__name__.removesuffix("Serializer").removesuffix("Output")
    return inline_serializer(
        f"CursorPaginated{name}List",
        {
            "next": serializers.CharField(allow_null=True),
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
    schema = openapi.ScopedAutoSchema()


class AsyncApiView(RequireBodyMixin, adrf.views.APIView):
    """Endpoints whose handlers are coroutines (they wait on providers)."""

    scopes: ClassVar[dict[str, str]] = {}
    schema = openapi.ScopedAutoSchema()

    async def async_dispatch(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        """adrf's dispatch, with authentication, permissions and throttles (which read the
        database) on the long-lived database threads instead of a thread per request."""
        self.args, self.kwargs = args, kwargs
        return await self.respond(self.initialize_request(request, *args, **kwargs))

    async def respond(self, request: Any) -> Any:
        """Everything after the request is built: also the path of ``api/direct.py``, which
        hands in a ``DirectRequest`` (``self.args`` and ``self.kwargs`` already set)."""
        args, kwargs = self.args, self.kwargs
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
        summary="List templates",
        description="Templates by slug, each with its labels and latest version number; "
        "`limit` and `offset` page them. A key limited to some templates lists only those.",
        parameters=[PageQuerySerializer],
        responses={200: paginated(TemplateOutputSerializer), **errors({404: None})},
        operation_id="templates_list",
    )
    def get(self, request: Request) -> Response:
        _valid(PageQuerySerializer, request.query_params)
        queryset = selectors.for_api_key(selectors.template_list(), api_key=key_of(request))
        queryset = queryset.prefetch_related("aliases", "labels__version")
        return _paginated(request, self, queryset, TemplateOutputSerializer)

    @extend_schema(
        summary="Create a template",
        description="Creates a template without versions: slug, name, description, sample "
        "variables (what previews and lint render with) and aliases (other names it resolves "
        "by wherever a slug goes, e.g. an imported `pmpt_…` id). Its prompt goes in its "
        "versions.",
        request=TemplateInputSerializer,
        responses={
            201: TemplateOutputSerializer,
            **errors(
                {
                    403: "The API key lacks the scope, or is limited to some templates.",
                    404: None,
                    409: "A template with this slug exists.",
                }
            ),
        },
        examples=openapi.TEMPLATE_CREATE_EXAMPLES,
    )
    def post(self, request: Request) -> Response:
        template = services.template_create(**_valid(TemplateInputSerializer, request.data))
        return Response(TemplateOutputSerializer(template).data, status=201)


class TemplateDetailApi(ApiView):
    scopes = {"GET": Scope.READ, "PATCH": Scope.WRITE}

    @extend_schema(
        summary="Read a template",
        description="The template's metadata, its aliases, its labels (name: version number) "
        "and its latest version number (null before its first version). `{slug}` may be an "
        "alias here and in every path below; answers name the template by its slug.",
        responses={200: TemplateOutputSerializer, **errors()},
    )
    def get(self, request: Request, slug: str) -> Response:
        return Response(TemplateOutputSerializer(selectors.template_get(slug=slug)).data)

    @extend_schema(
        summary="Edit a template's metadata",
        description="Changes `name`, `description` or `sample_variables`, or replaces the "
        "whole set of `aliases`; any other field (the slug included) is a 400. Versions are "
        "never edited: add one instead.",
        request=TemplateUpdateSerializer,
        responses={200: TemplateOutputSerializer, **errors()},
        examples=openapi.TEMPLATE_UPDATE_EXAMPLES,
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
        summary="List a template's versions",
        description="Newest first, without their bodies; `limit` and `offset` page them.",
        parameters=[PageQuerySerializer],
        responses={200: paginated(VersionOutputSerializer), **errors()},
        operation_id="versions_list",
    )
    def get(self, request: Request, slug: str) -> Response:
        _valid(PageQuerySerializer, request.query_params)
        template = selectors.template_get(slug=slug)
        queryset = selectors.version_list(template=template).select_related("template")
        return _paginated(request, self, queryset, VersionOutputSerializer)

    @extend_schema(
        summary="Add a version",
        description="Stores `body` as the next version, numbered from 1, with its content "
        "hash and lint report. A stored version never changes. A body with lint errors is a "
        "400 whose `details` hold the lint report.",
        request=VersionInputSerializer,
        responses={
            201: VersionDetailSerializer,
            **errors({400: "Invalid input, a malformed body, or lint errors (in `details`)."}),
        },
        examples=openapi.VERSION_CREATE_EXAMPLES,
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

    @extend_schema(
        summary="Read a version",
        description="One version with its body, content hash and lint report.",
        responses={200: VersionDetailSerializer, **errors({404: "No such template or version."})},
    )
    def get(self, request: Request, slug: str, number: int) -> Response:
        template = selectors.template_get(slug=slug)
        return Response(
            VersionDetailSerializer(selectors.version_get(template=template, number=number)).data
        )


class VersionDiffApi(ApiView):
    scopes = {"GET": Scope.READ}

    @extend_schema(
        summary="Diff two versions",
        description="What changed from version `number` to version `other`: blocks, model, "
        "params and variables, which checkpoints' prefixes change, and an estimate of the "
        "one-time cost of writing those prefixes to the cache again at recent traffic.",
        responses={200: DiffOutputSerializer, **errors({404: "No such template or version."})},
    )
    def get(self, request: Request, slug: str, number: int, other: int) -> Response:
        template = selectors.template_get(slug=slug)
        diff = services.version_diff(
            template=template,
            old=selectors.version_get(template=template, number=number),
            new=selectors.version_get(template=template, number=other),
        )
        payload = {"template": template.slug, "from_version": number, "to_version": other, **diff}
        return Response(DiffOutputSerializer(payload).data)


class LabelListApi(ApiView):
    scopes = {"GET": Scope.READ}

    @extend_schema(
        summary="List a template's labels",
        description="Each label with the version it points at and the history of its moves. "
        "`latest` is implicit and not listed.",
        responses={200: LabelOutputSerializer(many=True), **errors()},
    )
    def get(self, request: Request, slug: str) -> Response:
        template = selectors.template_get(slug=slug)
        return Response(
            LabelOutputSerializer(selectors.label_list(template=template), many=True).data
        )


class LabelMoveApi(ApiView):
    scopes = {"PUT": Scope.WRITE}

    @extend_schema(
        summary="Move a label",
        description="Points the label at `version`, creating the label if it is new; every "
        "move is kept in its history, so a rollback is a move back. `latest` cannot be moved. "
        "Protected labels (`production` by default) need the write scope, or for a signed-in "
        "user the 'Can move protected labels' permission.\n\n"
        "With `warm: true` the version's cached prefix is written first, so the calls that "
        "follow the label read it instead of each paying the write: one minimal call (the "
        "prefix up to the last checkpoint, the least output the provider allows) rendered "
        "with `variables` over the template's sample variables (only prefix variables are "
        "needed), recorded as an invocation with `metadata.warmup`. It is skipped when the "
        "prefix is warm already or nothing caches. `warmup` reports what was written, its "
        "usage and cost (null without `warm`). When the provider fails the warm-up, the "
        "answer is that error and the label does not move.",
        request=LabelMoveInputSerializer,
        responses={
            200: LabelMoveAnswerSerializer,
            **errors(
                {
                    400: "Invalid input or label name, `variables` without `warm`, or a "
                    "warm-up whose prefix variables are missing or do not match.",
                    403: "The API key lacks the scope (`warm` needs send too), or the user may "
                    "not move a protected label.",
                    404: "No such template or version.",
                    **openapi.PROVIDER_ERROR_DESCRIPTIONS,
                }
            ),
        },
        examples=openapi.LABEL_MOVE_EXAMPLES,
    )
    def put(self, request: Request, slug: str, label: str) -> Response:
        template = selectors.template_get(slug=slug)
        data = _valid(LabelMoveInputSerializer, request.data)
        if data["warm"]:
            scope_check(request, Scope.SEND)  # a warm-up is a paid send
        promoted = label_promote(
            template=template,
            label=label,
            moved_by=actor_name(request),
            # The write scope covers protected labels; a signed-in user needs the permission.
            protected_allowed=key_of(request) is not None
            or request.user.has_perm(services.PROTECTED_LABEL_PERMISSION),
            api_key=key_of(request),
            **data,
        )
        context = {"warmup": promoted.warmup}
        return Response(LabelMoveAnswerSerializer(promoted.label, context=context).data)


class TemplateRenderApi(ApiView):
    scopes = {"POST": Scope.RENDER}

    @extend_schema(
        summary="Render without sending",
        description="Renders a version with `variables` into the exact request the provider "
        "would get, with each checkpoint's fingerprint, token estimate and whether it will "
        "cache, and which variables fall in the cached prefix or after it. Sends nothing. "
        "Give `version` or `label`, not both; neither means the `production` label if the "
        "template has one, else the latest version. `model` overrides the version's model.",
        request=RenderInputSerializer,
        responses={200: RenderOutputSerializer, **errors(RENDER_ERROR_TEXTS)},
        examples=openapi.RENDER_EXAMPLES,
    )
    def post(self, request: Request, slug: str) -> Response:
        template = selectors.template_get(slug=slug)
        data = _valid(RenderInputSerializer, request.data)
        rendered = services.template_render(template=template, **data)
        result = rendered.result
        return Response(
            {
                "template": template.slug,
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

    @extend_schema(
        summary="Lint a body or a version",
        description="Checks exactly one of `body` (unsaved) or `version`, rendered with the "
        "template's sample variables, against a model's limits (default: the body's model): "
        "errors, warnings and each checkpoint's token estimate. Lint errors are a 200 with "
        "`ok: false`; stores nothing. A stored `version` also gets a `ttl_costs_more` warning "
        "for each checkpoint whose TTL cost at least a cent a day more than the TTL the "
        "advisor recommends on its last 7 days of traffic (see the stats' `ttl_advice`).",
        request=LintInputSerializer,
        responses={
            200: LINT_REPORT,
            **errors(
                {
                    400: "Invalid input, or a body that does not parse.",
                    404: "No such template or version.",
                }
            ),
        },
        examples=openapi.LINT_EXAMPLES,
    )
    def post(self, request: Request, slug: str) -> Response:
        template = selectors.template_get(slug=slug)
        data = _valid(LintInputSerializer, request.data)
        if "version" in data:
            version = selectors.version_get(template=template, number=data["version"])
            invocations_visible()
            report = services.version_lint_stored(
                template=template, version=version, model=data.get("model")
            )
        else:
            report = services.version_lint(
                template=template, body=data["body"], model=data.get("model")
            )
        return Response(report)


class TemplateSendApi(AsyncApiView):
    scopes = {"POST": Scope.SEND}
    # JSON first: a client that accepts anything gets JSON for `stream: false`.
    renderer_classes = [JSONRenderer, EventStreamRenderer]

    def prepare_post(self, request: Request, slug: str) -> None:
        """Check the input, resolve and render (on a database thread, after authentication)."""
        data = _valid(SendInputSerializer, request.data)
        self.stream = data.pop("stream")
        if not self.stream and isinstance(request.accepted_renderer, EventStreamRenderer):
            raise NotAcceptable(
                "this client accepts only text/event-stream, which a send answers with when "
                'it streams: set "stream": true in the body (or accept application/json)'
            )
        self.call = SendCall(slug=slug, api_key=key_of(request), caller=actor_name(request), **data)
        self.rendered = send_prepare(self.call)

    @extend_schema(
        summary="Render and send",
        description="Renders as `render` does, sends the request to the model's provider and "
        "records the call (see `GET /invocations`, with `metadata`). Answers with the output, "
        "normalized usage, cost with and without caching, the checkpoints and, when the call "
        "wrote to the cache or read nothing, why (`miss`). With `stream: true` the answer is "
        "`text/event-stream` instead, whatever the `Accept` header says; errors found before "
        "the provider is called are still JSON errors. A client that accepts only "
        "`text/event-stream` (an `EventSource`) must set `stream: true`.",
        request=SendInputSerializer,
        responses={
            (200, "application/json"): OpenApiResponse(
                SendOutputSerializer,
                description="The send result (`stream: false`), or server-sent events "
                "(`stream: true`).",
            ),
            (200, "text/event-stream"): SEND_STREAM,
            **errors(
                {
                    **RENDER_ERROR_TEXTS,
                    406: "`Accept` names neither JSON nor `text/event-stream`, or only "
                    "`text/event-stream` without `stream: true`.",
                    **openapi.PROVIDER_ERROR_DESCRIPTIONS,
                }
            ),
        },
        examples=openapi.SEND_EXAMPLES,
    )
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

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        # Only the stream is text/event-stream: errors (and any other Response) are JSON,
        # whichever of the two the client's Accept header chose.
        if isinstance(response, Response):
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = JSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)


class InvocationListApi(ApiView):
    scopes = {"GET": Scope.READ}

    @extend_schema(
        summary="List invocations",
        description="Recorded sends, newest first (`id` breaking ties), filtered by template, "
        "version, model, status and time (`since` inclusive, `until` exclusive). `limit` rows "
        "a page; `next` is the link to the page after (null on the last one), whose `cursor` "
        "names where it starts: pages never count the log nor skip rows by offset, and rows "
        "logged meanwhile do not shift them. A key limited to some templates sees only theirs.",
        parameters=[InvocationFilterSerializer],
        responses={
            200: cursor_paginated(InvocationOutputSerializer),
            **errors(
                {
                    400: "Invalid input: an unknown parameter, a bad filter or an invalid "
                    "`cursor`.",
                    404: None,
                }
            ),
        },
    )
    def get(self, request: Request) -> Response:
        filters = _valid(InvocationFilterSerializer, request.query_params)
        page = {
            name: filters.pop(name)
            for name in CursorPageQuerySerializer().fields
            if name in filters
        }
        invocations_visible()
        queryset = selectors.for_api_key(
            selectors.invocation_list(**filters), api_key=key_of(request), via="template__"
        )
        paginator = KeysetPagination()
        rows = paginator.paginate(queryset, request, **page)
        return paginator.get_paginated_response(InvocationOutputSerializer(rows, many=True).data)


class TemplateStatsApi(ApiView):
    scopes = {"GET": Scope.READ}

    @extend_schema(
        summary="Template statistics",
        description="Per version, over the invocations between `since` (inclusive) and "
        "`until` (exclusive): calls, errors, cache hit ratio, tokens by kind, cost and savings "
        "(USD). Whole hours are read from hourly rollups, which `purge_invocations` keeps, so "
        "purging the log does not change them; a part of an hour at either end is added up "
        "from the logged rows, so there only the rows still logged count.\n\n"
        "Each version's `ttl_advice` is the TTL advisor: from the gaps between its successful "
        "calls in the window (without `since`, the last 7 days up to `until`; at most the "
        f"newest {selectors.TTL_ADVICE_MAX_CALLS:,} calls, `truncated` when there were more), "
        "per checkpoint, what its "
        "cached prefix cost under 5m and under 1h (writes, re-writes after expiry, reads, at "
        "the model's own prices), the cheaper TTL and what it saves per day; and the "
        "cheapest TTLs for the whole version that keep every 1h checkpoint before every 5m "
        "one (`assigned_ttl`). A model without both TTLs (OpenAI's only TTL is 30m) is "
        "listed in `skipped` with the reason.",
        parameters=[StatsFilterSerializer],
        responses={200: STATS, **errors()},
    )
    def get(self, request: Request, slug: str) -> Response:
        template = selectors.template_get(slug=slug)
        filters = _valid(StatsFilterSerializer, request.query_params)
        invocations_visible()
        rows = selectors.template_stats_with_ttl_advice(template=template, **filters)
        return Response(
            {
                "template": template.slug,
                "versions": StatsVersionOutputSerializer(rows, many=True).data,
            }
        )


class TemplatePreviewApi(ApiView):
    scopes = {"POST": Scope.RENDER}

    @extend_schema(
        summary="Preview an unsaved body",
        description="Lint and render an unsaved body (default: the template's sample "
        "variables): the blocks in provider order, cached or not, with checkpoint "
        "badges. A render error is in `render_error`, not a 400. Stores nothing, sends nothing.",
        request=PreviewInputSerializer,
        responses={200: PREVIEW, **errors({400: "Invalid input, or a body that does not parse."})},
        examples=openapi.PREVIEW_EXAMPLES,
    )
    def post(self, request: Request, slug: str) -> Response:
        template = selectors.template_get(slug=slug)
        data = _valid(PreviewInputSerializer, request.data)
        return Response(services.version_preview(template=template, **data))
