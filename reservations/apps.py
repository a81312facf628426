from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReservationsConfig(AppConfig):
    name = "reservations"
    verbose_name = _("施設予約")

    def ready(self) -> None:
        from . import (
            audit,  # noqa: F401  (connects the audit log's login and admin receivers)
            group_cache,  # noqa: F401  (drops cached groups when a group or its members change)
        )
