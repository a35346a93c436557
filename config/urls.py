"""Root URLs: the admin, the REST API under /api/v1/, its schema and docs, and the
SDK-compatible endpoints under /openai/ and /anthropic/."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("templates_app.api.urls")),
    path("", include("templates_app.api.compat.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
]
