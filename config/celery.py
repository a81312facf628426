"""The Celery application. Tasks stay thin: they call one service each."""

import os

from celery import Celery

from .request_id import connect_celery_signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("shisetsu")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Tasks log under the id of the request that queued them (or their own task id).
connect_celery_signals()
