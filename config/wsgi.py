"""WSGI entry point: HTTP is served by sync workers (see docs/architecture in README).

In front of Django, answers it gave that are the same for everyone, given again from memory while
Django would still give them: the availability grids (config/page_replay.py) and the opening
crowd's "already taken" (config/refusal_replay.py).
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

django_application = get_wsgi_application()

from config import release  # noqa: E402  (needs the apps loaded)
from config.page_replay import PageReplay  # noqa: E402
from config.refusal_replay import RefusalReplay  # noqa: E402

release.fingerprint()  # now, not in the first request that shares an answer

application = PageReplay(RefusalReplay(django_application))
