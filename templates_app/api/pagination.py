"""List pagination: ``limit`` and ``offset`` for short lists; a keyset cursor for the log."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Any

from django.db.models import Model, Q, QuerySet
from rest_framework.pagination import BasePagination, LimitOffsetPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

CURSOR_PARAM = "cursor"
Position = tuple[datetime, int]


class Pagination(LimitOffsetPagination):
    default_limit = 50
    max_limit = 500


def cursor_encode(position: Position) -> str:
    """The opaque cursor of a page that starts after the row at ``position``."""
    at, pk = position
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{pk}".encode()).decode().rstrip("=")


def cursor_decode(cursor: str) -> Position:
    """The position ``cursor`` names; ``ValueError`` when it is not one of ours."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, pk = text.split("|")
        position = datetime.fromisoformat(at), int(pk)
    except (binascii.Error, UnicodeDecodeError, ValueError) as error:
        raise ValueError("not a cursor of this list") from error
    if position[0].tzinfo is None or position[1] < 1:
        raise ValueError("not a cursor of this list")
    return position


class KeysetPagination(BasePagination):
    """Newest first over (``created_at``, ``id``): a page starts after the last row of the
    one before, which its cursor names. No count and no offset, so a page deep in a long
    table costs what the first one does; rows written meanwhile never shift a page."""

    default_limit = Pagination.default_limit
    max_limit = Pagination.max_limit

    def paginate(
        self,
        queryset: QuerySet[Any],
        request: Request,
        *,
        cursor: Position | None = None,
        limit: int | None = None,
    ) -> list[Model]:
        """One page of ``queryset`` (ordered ``-created_at, -id``) after ``cursor``."""
        self.request, size = request, limit or self.default_limit
        if cursor is not None:
            at, pk = cursor
            # ``created_at <= at`` bounds the index scan; the OR breaks ties by id.
            queryset = queryset.filter(
                Q(created_at__lt=at) | Q(created_at=at, id__lt=pk), created_at__lte=at
            )
        rows = list(queryset[: size + 1])
        self.last = (rows[size - 1].created_at, rows[size - 1].pk) if len(rows) > size else None
        return rows[:size]

    def get_next_link(self) -> str | None:
        if self.last is None:
            return None
        url = self.request.build_absolute_uri()
        return replace_query_param(url, CURSOR_PARAM, cursor_encode(self.last))

    def get_paginated_response(self, data: Any) -> Response:
        return Response({"next": self.get_next_link(), "results": data})
