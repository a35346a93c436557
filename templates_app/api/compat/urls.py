"""Routes of the SDK-compatible endpoints: the SDKs' base URLs are /openai/v1 and /anthropic."""

from django.urls import path, re_path

from . import views

urlpatterns = [
    path(
        "openai/v1/chat/completions",
        views.ChatCompletionsApi.as_view(),
        name="compat-chat-completions",
    ),
    path("openai/v1/responses", views.ResponsesApi.as_view(), name="compat-responses"),
    path("anthropic/v1/messages", views.MessagesApi.as_view(), name="compat-messages"),
    re_path(r"^openai/(?P<path>[\s\S]*)$", views.openai_not_found),
    re_path(r"^anthropic/(?P<path>[\s\S]*)$", views.anthropic_not_found),
]
