"""Authentication backend: Django's own, loading the resident with the user in one query, since
nearly every logged-in page needs both."""

from __future__ import annotations

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.base_user import AbstractBaseUser

from .models import User


class UserWithResidentBackend(ModelBackend):
    def get_user(self, user_id: int) -> AbstractBaseUser | None:
        user = User.objects.select_related("resident").filter(pk=user_id).first()
        return user if user is not None and self.user_can_authenticate(user) else None
