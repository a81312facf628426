from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = _("使用料・支払")

    def ready(self) -> None:
        from reservations.retention import register_activity_source

        from .retention import people_owed_refunds, people_with_open_payments

        # Residents with money still open are kept by the retention rule (reservations/retention.py).
        register_activity_source(people_owed_refunds)
        register_activity_source(people_with_open_payments)
