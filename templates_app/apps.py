from django.apps import AppConfig


class TemplatesAppConfig(AppConfig):
    name = "templates_app"
    verbose_name = "Prompt templates"

    def ready(self) -> None:
        from django.conf import settings

        from . import rendering, schema  # noqa: F401 - schema registers the OpenAPI extension

        rendering.LIMITS.seconds = settings.CACHET["RENDER_TIMEOUT"]
        rendering.LIMITS.max_output_chars = settings.CACHET["RENDER_MAX_OUTPUT_CHARS"]
