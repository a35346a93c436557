"""The version editor page in the admin (code editor, live preview, lint, save)."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse


def editor_view(request: HttpRequest, object_id: str, admin_site: object) -> HttpResponse:
    """The editor page of one template."""
    raise Http404("the editor is being built")
