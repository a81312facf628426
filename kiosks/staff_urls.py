"""Staff counter terminal pages under /staff/ (namespace "staff")."""

from django.urls import path

from . import audit_views, report_views, staff_views, two_factor_views
from .counter_urls import urlpatterns as counter_urlpatterns

app_name = "staff"

urlpatterns = [
    path("", staff_views.index, name="index"),
    path("facilities/<int:facility_id>/today/", staff_views.today, name="today"),
    path("facilities/<int:facility_id>/check-in/", staff_views.check_in, name="check_in"),
    path("facilities/<int:facility_id>/no-show/<int:reservation_id>/", staff_views.no_show, name="no_show"),
    # Two-factor login (kiosks/two_factor.py) and the audit log (kiosks/audit_views.py).
    path("2fa/setup/", two_factor_views.setup, name="two_factor_setup"),
    path("2fa/verify/", two_factor_views.verify, name="two_factor_verify"),
    path("2fa/accounts/", two_factor_views.accounts, name="two_factor_accounts"),
    path("2fa/accounts/<int:user_id>/reset/", two_factor_views.reset, name="two_factor_reset"),
    path("audit/", audit_views.audit_log, name="audit"),
    path("audit/export.csv", audit_views.audit_export, name="audit_export"),
    # Monthly reports (kiosks/report_views.py).
    path("reports/", report_views.reports, name="reports"),
    path("reports/monthly.csv", report_views.reports_csv, name="reports_csv"),
]

# The counter terminal (kiosks/counter_views.py, counter_manage_views.py).
urlpatterns += counter_urlpatterns
