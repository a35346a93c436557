"""Bearer API keys for the REST API, and who the caller is."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.utils import timezone
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from .models import ApiKey, hash_key

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


class ApiKeyAuthentication(BaseAuthentication):
    """``Authorization: Bearer <api key>``; a revoked or unknown key is a 401."""

    def authenticate(self, request: Request) -> tuple[ApiKeyUser, ApiKey] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != b"bearer":
            return None
        if len(parts) != 2:
            raise AuthenticationFailed("the Authorization header must be 'Bearer <api key>'")
        try:
            raw = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise AuthenticationFailed("invalid API key") from None
        key = ApiKey.objects.filter(key_hash=hash_key(raw)).first()
        if key is None:
            raise AuthenticationFailed("invalid API key")
        if not key.is_active:
            raise AuthenticationFailed("this API key has been revoked")
        now = timezone.now()
        if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        return ApiKeyUser(key), key

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="cachet"'


class IsApiClient(BasePermission):
    """An API key, or a staff user signed in to the admin."""

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and (request.auth or user.is_staff))


def actor_name(request: Request) -> str:
    """Who made the call, as recorded on versions and label moves."""
    user = request.user
    return getattr(user, "username", "") or ""
