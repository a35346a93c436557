"""ASGI entry point: ``uvicorn config.asgi:application``."""

import os

from django.conf import settings
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_asgi_application()
if settings.CACHET["SERVE_STATIC"]:
    # Admin and API-docs assets come from the app itself (no CDN).
    application = ASGIStaticFilesHandler(application)

from templates_app.lifespan import Lifespan  # noqa: E402 - needs the app registry ready

# Drains the invocation queue when the server stops.
application = Lifespan(application)
