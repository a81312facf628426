"""The Celery application. Tasks stay thin: they call one service each."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("shisetsu")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
