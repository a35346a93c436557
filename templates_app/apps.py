from django.apps import AppConfig
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class TemplatesAppConfig(AppConfig):
    name = "templates_app"
    verbose_name = "Prompt templates"

    def ready(self) -> None:
        from .api import openapi  # noqa: F401 - registers the OpenAPI extension

        catalog_configure(settings.GATEWAY.get("CATALOG_FILE"))


def catalog_configure(path: str | None) -> None:
    """Put the built-in catalog, with the operator's file applied, in force; a bad file
    stops startup with every problem listed."""
    from gateway.catalog import load_catalog, use_catalog
    from gateway.errors import CatalogError

    try:
        use_catalog(load_catalog(path))
    except CatalogError as exc:
        raise ImproperlyConfigured(f"CACHET_CATALOG_FILE={path}: {exc}") from exc
