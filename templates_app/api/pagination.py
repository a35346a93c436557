"""List pagination: ``limit`` and ``offset``, with a ceiling on ``limit``."""

from rest_framework.pagination import LimitOffsetPagination


class Pagination(LimitOffsetPagination):
    default_limit = 50
    max_limit = 500
