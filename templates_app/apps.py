from django.apps import AppConfig


class TemplatesAppConfig(AppConfig):
    name = "templates_app"
    verbose_name = "Prompt templates"

    def ready(self) -> None:
        from django.conf import settings

        from .api import openapi  # noqa: F401 - registers the OpenAPI extension
        from .engine import rendering

        rendering.LIMITS.seconds = settings.CACHET["RENDER_TIMEOUT"]
        rendering.LIMITS.max_output_chars = settings.CACHET["RENDER_MAX_OUTPUT_CHARS"]
