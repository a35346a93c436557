from django.apps import AppConfig


class TemplatesAppConfig(AppConfig):
    name = "templates_app"
    verbose_name = "Prompt templates"

    def ready(self) -> None:
        from .api import openapi  # noqa: F401 - registers the OpenAPI extension
