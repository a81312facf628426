"""Django's own login, logout and password-reset views under /accounts/ (no namespace, so the
names Django and base.html expect work: login, logout, password_reset, ...).

Residents log in with their user number (利用者番号). A forgotten password is reset by e-mail
address: the address is what people remember, the reset page never tells whether an address is
registered, and the mail goes only to the registered address and names the user number (useful when
a family shares one address). Logout is POST-only (Django 5)."""

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.urls import path

from .account_forms import NewPasswordForm, ResetRequestForm, UserNumberAuthenticationForm
from .ratelimits import limit_posts, per_ip, per_ip_and_field

urlpatterns = [
    path(
        "login/",
        # Login attempts per address and per (address, user number); never per user number alone.
        limit_posts("login", per_ip("login_ip"), per_ip_and_field("login_account", "username"))(
            auth_views.LoginView.as_view(authentication_form=UserNumberAuthenticationForm)
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "password_reset/",
        limit_posts("password_reset", per_ip("password_reset_ip"), per_ip_and_field("password_reset_address", "email"))(
            auth_views.PasswordResetView.as_view(
                form_class=ResetRequestForm,
                subject_template_name="registration/password_reset_subject.txt",
                email_template_name="registration/password_reset_email.html",
                extra_email_context={"ward_name": settings.WARD_NAME},
            )
        ),
        name="password_reset",
    ),
    path("password_reset/done/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(form_class=NewPasswordForm),
        name="password_reset_confirm",
    ),
    path("reset/done/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
]
