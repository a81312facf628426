"""config.asgi's application with the static files served from the finders, as `make run`'s
runserver does: for the browser tests that start daphne (tests/daphne.py). Production serves static
files through WhiteNoise from collectstatic's output instead."""

from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

from config.asgi import application as config_application

application = ASGIStaticFilesHandler(config_application)
