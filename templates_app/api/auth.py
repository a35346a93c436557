"""Bearer API keys for the REST API, who the caller is, and what a key may do.

Every API view maps each of its methods to a scope (``scopes = {"GET": "read"}``); a key
without it gets a 403. A key limited to some templates gets a 404 for any other
template, as if it did not exist, so it cannot probe which slugs do. Signed-in staff
users are limited by neither.
"""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db.models import Q
from django.utils import timezone
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from ..engine.errors import NotFoundError, PermissionDeniedError
from ..models import ApiKey, ProcessCache, hash_key

# last_used_at is written at most this often per key, not on every request.
LAST_USED_RESOLUTION = timedelta(seconds=60)


@dataclass(frozen=True)
class ApiKeyUser:
    """The ``request.user`` of a call made with an API key."""

    key: ApiKey
    is_authenticated: bool = True
    is_staff: bool = False

    @property
    def username(self) -> str:
        return f"key:{self.key.name}"


_keys = ProcessCache(limit=4096)


def key_authenticate(raw_key: str) -> ApiKey:
    """The active key ``raw_key`` is; ``AuthenticationFailed`` for an unknown or revoked one.

    Keys are kept per process by hash, with their template names, and a change of any key
    reaches every process within ``CACHE_BOUND_SECONDS`` (``models.caches_invalidate``): a
    warm call reads nothing. Unknown keys are never kept. Callers get a copy of their own.
    """
    key_hash = hash_key(raw_key)
    key = _keys.fetch(key_hash, functools.partial(_key_read, key_hash))
    if not key.is_active:
        raise AuthenticationFailed("this API key has been revoked")
    _note_use(key)
    return copy.copy(key)


def _key_read(key_hash: str) -> ApiKey:
    key = ApiKey.by_hash(key_hash)
    if key is None:
        raise AuthenticationFailed("invalid API key")
    return key.with_names()


def _note_use(key: ApiKey) -> None:
    """Write ``last_used_at`` when it is older than ``LAST_USED_RESOLUTION`` (its cached
    copy is moved on first, so other threads skip; the update is conditional, so processes
    that race write it once)."""
    now = timezone.now()
    if key.last_used_at is not None and now - key.last_used_at <= LAST_USED_RESOLUTION:
        return
    key.last_used_at = now
    stale = Q(last_used_at=None) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION)
    ApiKey.objects.filter(stale, pk=key.pk).update(last_used_at=now)


class ApiKeyAuthentication(BaseAuthentication):
    """``Authorization: Bearer <api key>``, or ``x-api-key: <api key>`` (the header the
    Anthropic SDK sends); a revoked or unknown key is a 401."""

    def authenticate(self, request: Request) -> tuple[ApiKeyUser, ApiKey] | None:
        raw = self._raw_key(request)
        if raw is None:
            return None
        key = key_authenticate(raw)
        return ApiKeyUser(key), key

    def _raw_key(self, request: Request) -> str | None:
        parts = get_authorization_header(request).split()
        if parts and parts[0].lower() == b"bearer":
            if len(parts) != 2:
                raise AuthenticationFailed("the Authorization header must be 'Bearer <api key>'")
            value: bytes | str = parts[1]
        elif request.META.get("HTTP_X_API_KEY"):
            value = request.META["HTTP_X_API_KEY"].strip()
        else:
            return None
        try:
            return (
                value.decode("ascii")
                if isinstance(value, bytes)
                else value.encode("ascii").decode()
            )
        except UnicodeError:
            raise AuthenticationFailed("invalid API key") from None

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="cachet"'


class IsApiClient(BasePermission):
    """An API key, or a staff user signed in to the admin."""

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and (request.auth or user.is_staff))


# What a user signed in to the admin needs for each scope: the API must not let a
# staff user do what the admin itself would refuse them.
SESSION_PERMISSIONS = {
    ApiKey.Scope.READ: "templates_app.view_template",
    ApiKey.Scope.RENDER: "templates_app.view_template",
    ApiKey.Scope.WRITE: "templates_app.change_template",
    ApiKey.Scope.SEND: "templates_app.change_template",
}


class KeyHasScope(BasePermission):
    """The scope a view names for the method: an API key must hold it, a signed-in user
    the matching model permission. Methods a view does not name are refused."""

    def has_permission(self, request: Request, view: Any) -> bool:
        method = "GET" if request.method == "HEAD" else request.method
        # OPTIONS describes the endpoint, and a method without a handler is a 405 anyway.
        if method == "OPTIONS" or not hasattr(view, method.lower()):
            return True
        scope = getattr(view, "scopes", {}).get(method)
        if scope is None:
            if isinstance(request.auth, ApiKey):
                raise PermissionDeniedError("API keys cannot use this endpoint")
            return True
        scope_check(request, scope)
        return True


def scope_check(request: Request, scope: str) -> None:
    """Raise ``PermissionDeniedError`` unless the API key holds ``scope`` (a signed-in user:
    the matching model permission). Also for what a request asks beyond its method's scope
    (a label move that warms the new version sends)."""
    key = request.auth
    if not isinstance(key, ApiKey):
        permission = SESSION_PERMISSIONS.get(scope)
        if permission and not request.user.has_perm(permission):
            raise PermissionDeniedError(f"your account lacks the {permission} permission")
        return
    if not key.has_scope(scope):
        raise PermissionDeniedError(f"this API key lacks the '{scope}' scope")


class KeyMayUseTemplate(BasePermission):
    """A key limited to some templates: others are 404s, and it cannot create templates."""

    def has_permission(self, request: Request, view: Any) -> bool:
        key = request.auth
        if not isinstance(key, ApiKey):
            return True
        names = key.template_names()  # an alias names its template as its slug does
        if not names:
            return True
        slug = view.kwargs.get("slug")
        if slug is not None and slug not in names:
            # The same answer as for a slug that does not exist (selectors.template_get).
            raise NotFoundError(f"template '{slug}' not found")
        if slug is None and request.method not in SAFE_METHODS:
            # The one write without a slug creates a template, which the key could not use.
            raise PermissionDeniedError(
                "this API key is limited to some templates, so it cannot create templates"
            )
        return True


def key_of(request: Request) -> ApiKey | None:
    """The API key of the call; None for a signed-in user."""
    return request.auth if isinstance(request.auth, ApiKey) else None


def actor_name(request: Request) -> str:
    """Who made the call, as recorded on versions and label moves."""
    user = request.user
    return getattr(user, "username", "") or ""
