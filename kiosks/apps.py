from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class KiosksConfig(AppConfig):
    name = "kiosks"
    verbose_name = _("端末")

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_out

        from reservations.notifications import register_availability_listener

        from . import live

        # Live availability (kiosks/live.py): committed slot changes go out to the watching
        # browsers; logging out closes the sockets of that session.
        register_availability_listener(live.availability_changed)
        user_logged_out.connect(live.on_user_logged_out, dispatch_uid="kiosks.live.logout")
