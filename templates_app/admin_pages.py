"""Template pages in the admin beyond the change form: diff, label moves."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse


def diff_view(request: HttpRequest, object_id: str, admin_site: object) -> HttpResponse:
    """The diff between two versions with its cache impact."""
    raise Http404("the diff page is being built")


def label_move_view(
    request: HttpRequest, object_id: str, label: str, admin_site: object
) -> HttpResponse:
    """Confirm and move a label."""
    raise Http404("label moves are being built")
