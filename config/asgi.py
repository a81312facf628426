"""ASGI entry point. In production it serves the websockets under /ws/ only; HTTP goes to the WSGI
workers (uWSGI, config/uwsgi.ini). `make run` (daphne's runserver) serves both from this one
application."""

import os

from channels.auth import AuthMiddlewareStack
from channels.routing import ProtocolTypeRouter, URLRouter
from channels.security.websocket import AllowedHostsOriginValidator
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

django_asgi_app = get_asgi_application()  # sets Django up before the consumers' models are imported

from kiosks.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # The Origin must be one of ALLOWED_HOSTS (no cross-site sockets riding on the session
        # cookie); the session and user are read from the cookies as on HTTP.
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
