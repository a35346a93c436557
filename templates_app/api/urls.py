"""REST API routes under /api/v1/ (README, "API")."""

from django.urls import path, re_path

from . import views
from .exception_handler import api_not_found

urlpatterns = [
    path("templates", views.TemplateListCreateApi.as_view(), name="template-list"),
    path("templates/<slug:slug>", views.TemplateDetailApi.as_view(), name="template-detail"),
    path(
        "templates/<slug:slug>/versions", views.VersionListCreateApi.as_view(), name="version-list"
    ),
    path(
        "templates/<slug:slug>/versions/<int:number>",
        views.VersionDetailApi.as_view(),
        name="version-detail",
    ),
    path(
        "templates/<slug:slug>/versions/<int:number>/diff/<int:other>",
        views.VersionDiffApi.as_view(),
        name="version-diff",
    ),
    path("templates/<slug:slug>/labels", views.LabelListApi.as_view(), name="label-list"),
    path(
        "templates/<slug:slug>/labels/<str:label>", views.LabelMoveApi.as_view(), name="label-move"
    ),
    path("templates/<slug:slug>/render", views.TemplateRenderApi.as_view(), name="render"),
    path("templates/<slug:slug>/lint", views.TemplateLintApi.as_view(), name="lint"),
    path("templates/<slug:slug>/preview", views.TemplatePreviewApi.as_view(), name="preview"),
    path("templates/<slug:slug>/send", views.TemplateSendApi.as_view(), name="send"),
    path("templates/<slug:slug>/stats", views.TemplateStatsApi.as_view(), name="stats"),
    path("invocations", views.InvocationListApi.as_view(), name="invocation-list"),
    # Last: anything else under /api/v1/ is a JSON 404, not Django's HTML page.
    re_path(r"^(?P<path>[\s\S]*)$", api_not_found),
]
