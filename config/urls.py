"""Root URLs: the admin, the REST API under /api/v1/, its schema and docs, and the
SDK-compatible endpoints under /openai/ and /anthropic/. ``/`` leads a browser to the admin
(whose pages link the API docs), ``/favicon.ico`` to the admin's icon."""

from typing import Any

from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

FAVICON = "cachet/favicon.svg"

# "View site" would lead to "/", which only leads back to the admin.
admin.site.site_url = None


class FaviconRedirect(RedirectView):
    """The icon browsers ask for at /favicon.ico, wherever static files are served from."""

    def get_redirect_url(self, *args: Any, **kwargs: Any) -> str:
        return static(FAVICON)


urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index"), name="root"),
    path("favicon.ico", FaviconRedirect.as_view(), name="favicon"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("templates_app.api.urls")),
    path("", include("templates_app.api.compat.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
]
