"""Django's admin app with our default site (kiosks/two_factor_admin.py): `admin.site` and every
`@admin.register` in the apps use it, so the existing registrations need no change."""

from django.contrib.admin.apps import AdminConfig


class StaffAdminConfig(AdminConfig):
    default_site = "kiosks.two_factor_admin.StaffAdminSite"
