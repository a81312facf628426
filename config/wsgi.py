"""WSGI entry point: HTTP is served by sync workers (see docs/architecture in README).

In front of Django: the opening crowd's "already taken" answers, replayed from memory
(config/refusal_replay.py).
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

django_application = get_wsgi_application()

from config.refusal_replay import RefusalReplay  # noqa: E402  (needs the apps loaded)

application = RefusalReplay(django_application)
