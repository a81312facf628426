from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LotteryConfig(AppConfig):
    name = "lottery"
    verbose_name = _("抽選")

    def ready(self) -> None:
        from reservations.retention import register_activity_source
        from reservations.waiting_room import register_opening_source

        from .retention import people_with_entries
        from .selectors import intake_openings

        # Residents with lottery entries are kept by the retention rule (reservations/retention.py).
        register_activity_source(people_with_entries)
        # With the waiting room on, it also guards the intake opening's apply step.
        register_opening_source(intake_openings, gated_view="lottery:apply")
