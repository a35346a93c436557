"""ASGI entry point: ``uvicorn config.asgi:application``."""

import os

from django.conf import settings
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from django.core import signals
from django.core.asgi import get_asgi_application
from django.db import close_old_connections, reset_queries

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_asgi_application()
if settings.CACHET["SERVE_STATIC"]:
    # Admin and API-docs assets come from the app itself (no CDN).
    application = ASGIStaticFilesHandler(application)

from templates_app.api.direct import DirectRouter  # noqa: E402 - needs the app registry ready
from templates_app.sending.lifespan import Lifespan  # noqa: E402


# Under ASGI a request's sync work runs on a thread made for that request, so when a
# request starts there is no old connection to close nor query log to reset. Left
# connected, these receivers make Django start that thread at once and keep it for the
# whole request: 2,000 threads for 2,000 sends waiting on a provider. (They still run
# when the request finishes.)
def keep_request_threads_lazy() -> None:
    """Disconnect the two receivers (idempotent; Django's test client connects them again)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_started.disconnect(reset_queries)


keep_request_threads_lazy()

# The send routes skip Django's request handling (templates_app/api/direct.py); the
# lifespan drains the invocation queue when the server stops.
application = Lifespan(DirectRouter(application))
