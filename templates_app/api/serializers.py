"""Input and output shapes of the REST API."""

from __future__ import annotations

import json
from typing import Any, ClassVar

from django.http import QueryDict
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail

from gateway.types import TTLS

from ..engine.canonical import text_problem
from ..engine.labels import LABEL_MAX_LENGTH
from ..engine.validation import did_you_mean
from ..models import (
    LABEL_VALIDATOR,
    SLUG_VALIDATOR,
    Invocation,
    Label,
    LabelMove,
    Template,
    Version,
    alias_list_problem,
)
from ..sending.flow import coalescing_of
from ..sending.warmup import WARMUP_REASONS, WARMUP_STATUSES
from .pagination import KeysetPagination, Pagination, Position, cursor_decode

# The code of an error about a name itself (unknown, or given twice): exception_handler.py
# names all of them in the message.
UNKNOWN_FIELD = "unknown_field"


# Every input serializer's base: it refuses what it does not declare. Each unknown field (or
# query parameter) is a 400 naming it, with the closest real name when one is close, and a
# query parameter given twice is a 400: a typo must never silently fall back to a default
# ({"lable": "staging"} rendering production). They are reported beside the known fields'
# errors, so one answer names every problem; a subclass that words its own unknown-field
# errors in ``validate`` keeps its wording. (A comment, not a docstring: drf-spectacular
# would print a docstring in every input's schema.)
class StrictSerializer(serializers.Serializer):
    # Names a caller may send that are not fields of the serializer.
    also_allowed: ClassVar[frozenset[str]] = frozenset()

    def run_validation(self, data: Any = serializers.empty) -> Any:
        problems = self._strict_problems(data)
        try:
            value = super().run_validation(data)
        except serializers.ValidationError as exc:
            if problems and isinstance(exc.detail, dict):
                raise serializers.ValidationError(self._merged(problems, exc.detail)) from None
            raise
        if problems:
            raise serializers.ValidationError(self._merged(problems, {}))
        return value

    def _strict_problems(self, data: Any) -> dict[str, tuple[str, str]]:
        if not isinstance(data, dict | QueryDict):
            return {}
        known = set(self.fields) | self.also_allowed
        kind = "query parameter" if isinstance(data, QueryDict) else "field"
        problems = {
            name: (f"unknown {kind}", did_you_mean(name, sorted(known)))
            for name in data
            if name not in known
        }
        if isinstance(data, QueryDict):
            problems |= {
                name: ("is given more than once: give it once", "")
                for name in data
                if name in known and len(data.getlist(name)) > 1
            }
        return problems

    def _merged(
        self, problems: dict[str, tuple[str, str]], detail: dict[str, Any]
    ) -> dict[str, Any]:
        """Unknown names first, with their suggestion; then the known fields' errors."""
        merged: dict[str, Any] = {}
        for name, (problem, suggestion) in problems.items():
            own = detail.get(name)
            if own:  # the subclass's own wording
                problem = str(own[0] if isinstance(own, list) else own)
            merged[name] = [ErrorDetail(problem + suggestion, code=UNKNOWN_FIELD)]
        return merged | {key: value for key, value in detail.items() if key not in merged}


class StrictBooleanField(serializers.BooleanField):
    """A JSON ``true`` or ``false`` only: not ``"yes"``, ``"true"`` or ``1``."""

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            raise serializers.ValidationError("must be a JSON boolean, true or false")
        return data


class LabelChoiceField(serializers.ChoiceField):
    """A choice of a ``TextChoices``: its value, or the label the admin shows it by, in
    any case (``provider_error``, ``Provider error``)."""

    def __init__(self, choices: Any, **kwargs: Any) -> None:
        self.spellings = {
            spelling.casefold(): value
            for value, label in choices.choices
            for spelling in (value, str(label))
        }
        super().__init__(choices=choices.choices, **kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = self.spellings.get(data.casefold()) if isinstance(data, str) else None
        if value is None:
            raise serializers.ValidationError(
                f"{json.dumps(data)} is not one of {', '.join(self.choices)}"
                + did_you_mean(str(data), self.choices)
            )
        return value


class StrictCharField(serializers.CharField):
    """A string field that refuses numbers and booleans instead of converting them."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            raise serializers.ValidationError("must be a string")
        return super().to_internal_value(data)


@extend_schema_field(OpenApiTypes.OBJECT)
class JSONObjectField(serializers.JSONField):
    """A JSON object (not an array or scalar), free of NUL characters."""

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        value = super().to_internal_value(data)
        if not isinstance(value, dict):
            raise serializers.ValidationError("must be a JSON object")
        bad = text_problem(value)
        if bad:
            raise serializers.ValidationError(f"{bad[0] or 'value'} {bad[1]}")
        return value


class TemplateAliasesField(serializers.ListField):
    """A template's aliases: distinct, each well-formed (``models.alias_list_problem``)."""

    child = StrictCharField(allow_blank=True, trim_whitespace=False)

    def to_internal_value(self, data: Any) -> list[str]:
        aliases = super().to_internal_value(data)
        problem = alias_list_problem(aliases)
        if problem is not None:
            raise serializers.ValidationError(problem[1])
        return aliases


class TemplateInputSerializer(StrictSerializer):
    slug = StrictCharField(max_length=100, validators=[SLUG_VALIDATOR])
    name = StrictCharField(max_length=200)
    description = StrictCharField(required=False, allow_blank=True, default="", max_length=20_000)
    sample_variables = JSONObjectField(required=False, default=dict)
    aliases = TemplateAliasesField(required=False, default=list, max_length=100)


class TemplateUpdateSerializer(StrictSerializer):
    name = StrictCharField(max_length=200, required=False)
    description = StrictCharField(required=False, allow_blank=True, max_length=20_000)
    sample_variables = JSONObjectField(required=False)
    aliases = TemplateAliasesField(required=False, max_length=100)  # replaces the whole set

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        unknown = (
            set(self.initial_data) - set(self.fields)
            if isinstance(self.initial_data, dict)
            else set()
        )
        if unknown:
            raise serializers.ValidationError(
                {
                    key: "cannot be changed here "
                    "(editable: name, description, sample_variables, aliases)"
                    for key in sorted(unknown)
                }
            )
        return attrs


class TemplateOutputSerializer(serializers.ModelSerializer):
    aliases = serializers.SlugRelatedField(many=True, read_only=True, slug_field="alias")
    labels = serializers.SerializerMethodField()
    latest_version = serializers.SerializerMethodField()

    class Meta:
        model = Template
        fields = [
            "slug",
            "name",
            "description",
            "sample_variables",
            "aliases",
            "labels",
            "latest_version",
            "created_at",
            "updated_at",
        ]

    def get_labels(self, template: Template) -> dict[str, int]:
        return {label.name: label.version.number for label in template.labels.all()}

    def get_latest_version(self, template: Template) -> int | None:
        return template.version_count or None


class VersionInputSerializer(StrictSerializer):
    body = JSONObjectField()
    message = StrictCharField(required=False, allow_blank=True, default="", max_length=5000)


class VersionOutputSerializer(serializers.ModelSerializer):
    template = serializers.CharField(source="template.slug")
    version = serializers.IntegerField(source="number")

    class Meta:
        model = Version
        fields = ["template", "version", "content_hash", "message", "author", "created_at", "lint"]


class VersionDetailSerializer(VersionOutputSerializer):
    body = serializers.JSONField(source="body_data")

    class Meta(VersionOutputSerializer.Meta):
        fields = [*VersionOutputSerializer.Meta.fields, "body"]


class LabelMoveInputSerializer(StrictSerializer):
    version = serializers.IntegerField(min_value=1)
    warm = StrictBooleanField(
        required=False,
        default=False,
        help_text="write the version's cached prefix first, with one minimal call (needs the "
        "send scope too); the label moves only once it has been written",
    )
    variables = JSONObjectField(
        required=False,
        help_text="only with `warm`: prefix-variable values for the warm-up, over the "
        "template's sample variables",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "variables" in attrs and not attrs["warm"]:
            raise serializers.ValidationError(
                {"variables": 'only with "warm": true (the warm-up renders with them)'}
            )
        return attrs


class LabelMoveOutputSerializer(serializers.ModelSerializer):
    label = serializers.CharField(source="label.name")
    from_version = serializers.IntegerField(
        source="from_version.number", allow_null=True, default=None
    )
    to_version = serializers.IntegerField(source="to_version.number")

    class Meta:
        model = LabelMove
        fields = ["label", "from_version", "to_version", "moved_by", "moved_at"]


class LabelOutputSerializer(serializers.ModelSerializer):
    version = serializers.IntegerField(source="version.number")
    history = serializers.SerializerMethodField()

    class Meta:
        model = Label
        fields = ["name", "version", "updated_at", "updated_by", "history"]

    def get_history(self, label: Label) -> list[dict[str, Any]]:
        moves = label.moves.select_related("label", "from_version", "to_version")
        return LabelMoveOutputSerializer(moves, many=True).data


class RenderInputSerializer(StrictSerializer):
    variables = JSONObjectField(required=False, default=dict)
    version = serializers.IntegerField(required=False, min_value=1)
    label = StrictCharField(
        required=False, max_length=LABEL_MAX_LENGTH, validators=[LABEL_VALIDATOR]
    )
    model = StrictCharField(required=False, max_length=300)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "version" in attrs and "label" in attrs:
            raise serializers.ValidationError("give either 'version' or 'label', not both")
        return attrs


class LintInputSerializer(StrictSerializer):
    body = JSONObjectField(required=False)
    version = serializers.IntegerField(required=False, min_value=1)
    model = StrictCharField(required=False, max_length=300)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("body" in attrs) == ("version" in attrs):
            raise serializers.ValidationError("give exactly one of 'body' or 'version'")
        return attrs


class PreviewInputSerializer(StrictSerializer):
    body = JSONObjectField()
    variables = JSONObjectField(required=False)
    model = StrictCharField(required=False, max_length=300)


class CheckpointOutputSerializer(serializers.Serializer):
    ordinal = serializers.IntegerField()
    path = serializers.CharField()
    section = serializers.CharField()
    ttl = serializers.CharField(allow_null=True)
    fingerprint = serializers.CharField()
    tokens = serializers.IntegerField(help_text="estimated tokens of the prefix this closes")
    min_tokens = serializers.IntegerField()
    status = serializers.ChoiceField(
        ["will_cache", "below_minimum", "over_cache_limit", "not_cacheable"]
    )


class RenderOutputSerializer(serializers.Serializer):
    template = serializers.CharField()
    version = serializers.IntegerField()
    label = serializers.CharField(allow_null=True)
    content_hash = serializers.CharField()
    model = serializers.CharField()
    provider = serializers.CharField()
    request = serializers.JSONField(help_text="the exact request body for the provider")
    checkpoints = CheckpointOutputSerializer(many=True)
    prefix_variables = serializers.ListField(child=serializers.CharField())
    suffix_variables = serializers.ListField(child=serializers.CharField())
    warnings = serializers.ListField(child=serializers.DictField())
    token_method = serializers.CharField()


class UsdField(serializers.FloatField):
    """A dollar figure computed as ``Decimal``, answered as a JSON number."""


class RewriteRowSerializer(serializers.Serializer):
    ordinal = serializers.IntegerField()
    ttl = serializers.CharField()
    prefix_tokens = serializers.IntegerField()
    tokens = serializers.IntegerField(help_text="tokens this checkpoint writes again")
    write_price = UsdField(help_text="USD per million tokens written at this TTL")
    read_price = UsdField(help_text="USD per million tokens read")
    per_entry_usd = UsdField()
    live_entries = serializers.IntegerField(
        help_text="entries of the new version at this checkpoint still live from its own calls"
    )
    entries = serializers.IntegerField(help_text="entries to write: recent ones less live ones")
    total_usd = UsdField(help_text="per_entry_usd × entries")


class RewriteSerializer(serializers.Serializer):
    model = serializers.CharField(help_text="whose prices the estimate uses")
    priced = serializers.BooleanField(help_text="false when the catalog has no prices for it")
    entries = serializers.IntegerField(
        help_text="distinct cache entries in the last 24 h of the other versions' traffic "
        "(at least 1)"
    )
    rows = RewriteRowSerializer(many=True)
    per_entry_usd = UsdField()
    total_usd = UsdField(help_text="one-time cost of writing the changed prefixes again")


class DiffOutputSerializer(serializers.Serializer):
    template = serializers.CharField()
    from_version = serializers.IntegerField()
    to_version = serializers.IntegerField()
    model = serializers.DictField(allow_null=True)
    blocks = serializers.ListField(child=serializers.DictField())
    params = serializers.CharField(allow_null=True)
    variables = serializers.CharField(allow_null=True)
    checkpoints = serializers.ListField(child=serializers.DictField())
    summary = serializers.CharField()
    rewrite = RewriteSerializer()


class SendInputSerializer(RenderInputSerializer):
    stream = StrictBooleanField(required=False, default=False)
    metadata = JSONObjectField(required=False, default=dict)

    def validate_metadata(self, value: dict[str, Any]) -> dict[str, Any]:
        if len(json.dumps(value)) > 16_384:
            raise serializers.ValidationError("must be at most 16 KB of JSON")
        return value


class ToolCallOutputSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    arguments = serializers.CharField(help_text="the arguments as JSON text, as the model wrote it")


class SendAnswerSerializer(serializers.Serializer):
    text = serializers.CharField(allow_blank=True)
    tool_calls = ToolCallOutputSerializer(many=True)
    stop_reason = serializers.CharField(allow_null=True, help_text="as the provider said it")


class UsageOutputSerializer(serializers.Serializer):
    """Normalized token usage; null where the provider did not say."""

    input_tokens = serializers.IntegerField(
        allow_null=True,
        help_text="uncached input only: no tokens read from or written to the cache",
    )
    output_tokens = serializers.IntegerField(allow_null=True)
    cache_read_tokens = serializers.IntegerField(allow_null=True)
    cache_write_tokens = serializers.IntegerField(
        allow_null=True, help_text="cache_write_5m_tokens + cache_write_1h_tokens"
    )
    cache_write_5m_tokens = serializers.IntegerField(allow_null=True)
    cache_write_1h_tokens = serializers.IntegerField(allow_null=True)


class CostOutputSerializer(serializers.Serializer):
    """USD, from the model's catalog prices; null when the usage or prices are unknown."""

    usd = UsdField(allow_null=True, help_text="what the call cost")
    usd_without_cache = UsdField(allow_null=True, help_text="what it would cost uncached")
    saved_usd = UsdField(allow_null=True, help_text="usd_without_cache - usd")


class WarmupCheckpointOutputSerializer(serializers.Serializer):
    ordinal = serializers.IntegerField()
    path = serializers.CharField()
    ttl = serializers.CharField(allow_null=True)
    fingerprint = serializers.CharField(help_text="as every send with these prefix values has it")
    tokens = serializers.IntegerField(help_text="estimated tokens of the prefix this closes")


class WarmupChainOutputSerializer(serializers.Serializer):
    checkpoints = WarmupCheckpointOutputSerializer(
        many=True, help_text="the chain's checkpoints that will cache, all written by one call"
    )
    invocation_id = serializers.IntegerField(
        allow_null=True, help_text="the recorded warm-up call; null when nothing was sent"
    )
    usage = UsageOutputSerializer(allow_null=True)
    cost = CostOutputSerializer(allow_null=True)


class WarmupOutputSerializer(serializers.Serializer):
    status = serializers.ChoiceField(WARMUP_STATUSES)
    reason = serializers.ChoiceField(
        WARMUP_REASONS, allow_null=True, help_text="why nothing was sent, when it was skipped"
    )
    message = serializers.CharField()
    version = serializers.IntegerField()
    model = serializers.CharField()
    chains = WarmupChainOutputSerializer(many=True)


class LabelMoveAnswerSerializer(LabelOutputSerializer):
    warmup = serializers.SerializerMethodField()

    class Meta(LabelOutputSerializer.Meta):
        fields = [*LabelOutputSerializer.Meta.fields, "warmup"]

    @extend_schema_field(WarmupOutputSerializer(allow_null=True))
    def get_warmup(self, label: Label) -> dict[str, Any] | None:
        return self.context.get("warmup")


class MissOutputSerializer(serializers.Serializer):
    """Why the call paid for a cache write or read nothing; the other fields depend on it."""

    reason = serializers.ChoiceField(
        ["below_minimum", "first_call", "prefix_changed", "ttl_expired", "provider_miss"]
    )
    checkpoint = serializers.IntegerField(help_text="the ordinal of the first checkpoint missed")
    path = serializers.CharField()
    message = serializers.CharField()
    block = serializers.CharField(
        required=False, allow_null=True, help_text="prefix_changed: the first block that changed"
    )
    variables = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="prefix_changed: the prefix variables whose values changed",
    )
    position = serializers.IntegerField(
        required=False, allow_null=True, help_text="prefix_changed: the first differing character"
    )
    elapsed_seconds = serializers.FloatField(
        required=False, help_text="ttl_expired: since the prefix was last sent"
    )
    ttl = serializers.CharField(required=False, help_text="ttl_expired: the TTL it outlived")
    previous_invocation = serializers.IntegerField(
        required=False, allow_null=True, help_text="the earlier call compared against"
    )


class CoalescingOutputSerializer(serializers.Serializer):
    role = serializers.ChoiceField(
        choices=Invocation.Coalesce.choices,
        allow_blank=True,
        help_text="led: its cached prefix was cold and it went first; waited: it waited for "
        "the send that led; alone: the prefix was warm, or nothing in it caches; off: cold, "
        "with coalescing off",
    )
    waited_ms = serializers.IntegerField(allow_null=True)
    write_avoided_usd = serializers.FloatField(
        allow_null=True, help_text="a follower that read: what writing would have cost more"
    )


class SendOutputSerializer(serializers.Serializer):
    invocation_id = serializers.IntegerField(help_text="the recorded call, in GET /invocations")
    template = serializers.CharField()
    version = serializers.IntegerField()
    label = serializers.CharField(
        allow_null=True,
        help_text="the label the version came through (`latest` when neither was given and "
        "there is no `production` label); null for a version number",
    )
    model = serializers.CharField()
    provider = serializers.CharField()
    output = SendAnswerSerializer()
    usage = UsageOutputSerializer()
    cost = CostOutputSerializer()
    checkpoints = CheckpointOutputSerializer(
        many=True, help_text="as render reports them, each with the `block_index` it closes"
    )
    miss = MissOutputSerializer(
        allow_null=True, help_text="null when it read its cached prefix, or had no checkpoints"
    )
    latency_ms = serializers.IntegerField()
    request_id = serializers.CharField(allow_null=True, help_text="the provider's request id")
    coalescing = CoalescingOutputSerializer()


class PageQuerySerializer(StrictSerializer):
    """The query parameters of a paginated list: ``limit`` and ``offset``, nothing else."""

    limit = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=Pagination.max_limit,
        help_text=f"results per page (default {Pagination.default_limit})",
    )
    offset = serializers.IntegerField(
        required=False, min_value=0, help_text="results to skip (default 0)"
    )


class CursorField(serializers.CharField):
    """The ``cursor`` of a ``next`` link: the position a page starts after."""

    def to_internal_value(self, data: Any) -> Position:
        try:
            return cursor_decode(super().to_internal_value(data))
        except ValueError:
            raise serializers.ValidationError(
                "invalid cursor: pass the one in the previous page's `next` link, unchanged"
            ) from None


class CursorPageQuerySerializer(StrictSerializer):
    """The query parameters of a list paged by cursor: ``limit`` and ``cursor``."""

    limit = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=KeysetPagination.max_limit,
        help_text=f"results per page (default {KeysetPagination.default_limit})",
    )
    cursor = CursorField(
        required=False,
        max_length=200,
        help_text="where the page starts: the opaque cursor of the previous page's `next` "
        "link (default: the newest rows)",
    )


class InvocationFilterSerializer(CursorPageQuerySerializer):
    template = StrictCharField(required=False, max_length=100)
    version = serializers.IntegerField(required=False, min_value=1)
    model = StrictCharField(required=False, max_length=300)
    status = LabelChoiceField(
        Invocation.Status,
        required=False,
        help_text="a status, or its label as the admin shows it (`Provider error`)",
    )
    since = serializers.DateTimeField(required=False)
    until = serializers.DateTimeField(required=False)


class InvocationOutputSerializer(serializers.ModelSerializer):
    template = serializers.CharField(source="template.slug")
    version = serializers.IntegerField(source="version.number")
    usage = serializers.DictField(read_only=True)
    cost = serializers.DictField(read_only=True)
    error = serializers.SerializerMethodField()
    coalescing = serializers.SerializerMethodField()

    class Meta:
        model = Invocation
        fields = [
            "id",
            "created_at",
            "template",
            "version",
            "label",
            "model",
            "provider",
            "stream",
            "status",
            "usage",
            "cost",
            "miss",
            "error",
            "latency_ms",
            "coalescing",
            "request_id",
            "caller",
            "checkpoints",
            "metadata",
            "variables",
            "stop_reason",
            "output_text",
        ]

    @extend_schema_field(CoalescingOutputSerializer)
    def get_coalescing(self, invocation: Invocation) -> dict[str, Any]:
        return coalescing_of(invocation)

    def get_error(self, invocation: Invocation) -> dict[str, Any] | None:
        if invocation.status == Invocation.Status.OK:
            return None
        return {
            "type": invocation.error_type,
            "message": invocation.error_message,
            "provider_status": invocation.provider_status,
        }


class StatsFilterSerializer(StrictSerializer):
    since = serializers.DateTimeField(required=False)
    until = serializers.DateTimeField(required=False)


class TtlCostOutputSerializer(serializers.Serializer):
    """What a checkpoint's calls in the window cost under one TTL (the TTL advisor)."""

    writes = serializers.IntegerField(help_text="first calls of a cache entry in the window")
    rewrites = serializers.IntegerField(
        help_text="calls at least the TTL after the previous call of the same entry: it had "
        "expired and is written again"
    )
    reads = serializers.IntegerField(help_text="calls within the TTL of the previous one")
    written_tokens = serializers.IntegerField()
    read_tokens = serializers.IntegerField()
    usd = serializers.FloatField(
        help_text="writes and re-writes at the model's write price for this TTL, reads at its "
        "read price"
    )


# One cost per TTL, keyed by the TTL ("5m", "1h"): not Python names, hence type().
TtlCostsOutputSerializer = type(
    "TtlCostsOutputSerializer",
    (serializers.Serializer,),
    {"__module__": __name__, **{ttl: TtlCostOutputSerializer() for ttl in TTLS}},
)


class TtlCheckpointOutputSerializer(serializers.Serializer):
    """One checkpoint of the TTL advice."""

    ordinal = serializers.IntegerField()
    path = serializers.CharField()
    # TTLs as strings, not enums: three fields of one choice set would need a settings entry.
    ttl = serializers.CharField(help_text="the TTL the version gives it now: 5m or 1h")
    calls = serializers.IntegerField(help_text="calls in which it cached (status will_cache)")
    costs = TtlCostsOutputSerializer()
    recommended_ttl = serializers.CharField(
        allow_null=True,
        help_text="its cheaper TTL on its own, 5m or 1h (the current one on a tie); null "
        "without calls",
    )
    saved_usd_per_day = serializers.FloatField(
        allow_null=True, help_text="what the recommended TTL saves per day over the current one"
    )
    assigned_ttl = serializers.CharField(
        help_text="its TTL, 5m or 1h, in the version's cheapest TTLs that keep 1h before 5m"
    )


class TtlSkippedOutputSerializer(serializers.Serializer):
    model = serializers.CharField()
    calls = serializers.IntegerField()
    reason = serializers.CharField(help_text="why its calls are not priced")


class TtlAdviceOutputSerializer(serializers.Serializer):
    """The TTL advisor for one version: per checkpoint, what its calls in the window cost
    under 5m and under 1h, the recommendation and what it saves per day."""

    since = serializers.DateTimeField(
        help_text="start of the window analysed (the oldest call read when truncated)"
    )
    until = serializers.DateTimeField()
    days = serializers.FloatField(help_text="the window's length in days")
    calls_analysed = serializers.IntegerField()
    truncated = serializers.BooleanField(
        help_text="the window held more calls than the advisor reads: only the newest are read"
    )
    skipped = TtlSkippedOutputSerializer(many=True, help_text="calls on models with no choice")
    reason = serializers.CharField(
        allow_null=True, help_text="why there is no recommendation; null when there is one"
    )
    checkpoints = TtlCheckpointOutputSerializer(many=True)
    current_usd = serializers.FloatField(help_text="the window's cached prefixes at current TTLs")
    recommended_usd = serializers.FloatField(help_text="the same at the assigned TTLs")
    saved_usd_per_day = serializers.FloatField(allow_null=True)


class CoalescingStatsOutputSerializer(serializers.Serializer):
    led = serializers.IntegerField(help_text="sends that found their cached prefix cold and led")
    waited = serializers.IntegerField(help_text="sends that waited for the one that led")
    writes_avoided = serializers.IntegerField(
        help_text="sends that waited, then read the prefix instead of writing it"
    )
    writes_avoided_usd = serializers.FloatField(
        help_text="what those writes would have cost more than the reads (USD)"
    )


class StatsVersionOutputSerializer(serializers.Serializer):
    version = serializers.IntegerField()
    calls = serializers.IntegerField()
    errors = serializers.IntegerField()
    cache_hit_ratio = serializers.FloatField(allow_null=True)
    cached_token_ratio = serializers.FloatField(allow_null=True)
    tokens = serializers.DictField(child=serializers.IntegerField())
    cost = serializers.DictField(child=serializers.FloatField())
    coalescing = CoalescingStatsOutputSerializer()
    ttl_advice = TtlAdviceOutputSerializer()
