from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from .api import api
from .health import healthz

# A database or Redis outage that escapes a view (e.g. in a middleware) is a 503, not a 500.
handler500 = "config.unavailable.server_error"

urlpatterns = [
    # Health for monitoring and the load balancer (config/health.py): no auth, no personal data.
    path("healthz", healthz, name="healthz"),
    path("", include("reservations.urls")),
    path("lottery/", include("lottery.urls")),
    path("payments/", include("payments.urls")),
    path("kiosk/", include("kiosks.urls")),
    path("staff/", include("kiosks.staff_urls")),
    # Django's own login, logout and password-reset views (names: login, logout, password_reset, ...),
    # with a login form that asks for the user number (利用者番号).
    path("accounts/", include("reservations.auth_urls")),
    # Registration, profile and groups (namespace "accounts").
    path("accounts/", include("reservations.account_urls")),
    path("api/v1/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]

if getattr(settings, "BENCH_ENDPOINTS", False):
    urlpatterns.append(path("bench/bare/", include("loadtests.bare")))
