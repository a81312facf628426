"""Authentication backend: Django's own, loading the resident with the user in one query, since
nearly every logged-in page needs both.

Every logged-in request asks it (the 09:00 booking step included), and building that same query
through the ORM each time cost more CPU than anything else the free booking page did outside its
template. So the SELECT is written once per database from the models' own metadata, and each
request only executes it and builds the two objects as the ORM would (`Model.from_db`, with the
backend's value converters): the same row, the same objects, the resident cached on the user (and
the user on the resident) as `select_related("resident")` leaves them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import ValidationError
from django.db import connections, router

from .models import Resident, User

Converter = Callable[[Any, Any, Any], Any]


@dataclass(frozen=True)
class _UserQuery:
    """The user-with-resident SELECT for one database, and how to turn its row into objects."""

    sql: str
    user_attnames: list[str]
    resident_attnames: list[str]
    # (column index, the column, its converters) for the columns the backend converts.
    converters: list[tuple[int, Any, list[Converter]]]

    def build(self, using: str, row: Sequence[Any]) -> User:
        values = list(row)
        connection = connections[using]
        for index, column, converters in self.converters:
            for convert in converters:
                values[index] = convert(values[index], column, connection)
        split = len(self.user_attnames)
        user = User.from_db(using, self.user_attnames, values[:split])
        resident = None
        if values[split + self.resident_attnames.index(Resident._meta.pk.attname)] is not None:
            resident = Resident.from_db(using, self.resident_attnames, values[split:])
            _RESIDENT_USER.set_cached_value(resident, user)
        # None is remembered too: `user.resident` then raises DoesNotExist without a query.
        _RESIDENT_USER.remote_field.set_cached_value(user, resident)
        return user


# Resident.user: the join, and both ends of the cache select_related("resident") fills.
_RESIDENT_USER = Resident._meta.get_field("user")


@functools.cache  # per database alias
def _user_query(using: str) -> _UserQuery:
    connection = connections[using]
    quote = connection.ops.quote_name
    user_fields, resident_fields = User._meta.concrete_fields, Resident._meta.concrete_fields
    columns = [f.get_col("u") for f in user_fields] + [f.get_col("r") for f in resident_fields]
    converters = []
    for index, column in enumerate(columns):
        found = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
        if found:
            converters.append((index, column, found))
    select = ", ".join(f"{quote(c.alias)}.{quote(c.target.column)}" for c in columns)
    # Names from the models' metadata, quoted; the id is a parameter.
    sql = (
        f"SELECT {select} FROM {quote(User._meta.db_table)} u "  # noqa: S608
        f"LEFT OUTER JOIN {quote(Resident._meta.db_table)} r "
        f"ON r.{quote(_RESIDENT_USER.column)} = u.{quote(User._meta.pk.column)} "
        f"WHERE u.{quote(User._meta.pk.column)} = %s"
    )
    return _UserQuery(
        sql=sql,
        user_attnames=[f.attname for f in user_fields],
        resident_attnames=[f.attname for f in resident_fields],
        converters=converters,
    )


def user_with_resident(user_id: Any) -> User | None:
    """The user with this primary key and its resident (if any), in one query; None if unknown."""
    try:
        pk = User._meta.pk.get_prep_value(User._meta.pk.to_python(user_id))
    except (TypeError, ValueError, ValidationError):
        return None
    using = router.db_for_read(User)
    query = _user_query(using)
    with connections[using].cursor() as cursor:
        cursor.execute(query.sql, [pk])
        row = cursor.fetchone()
    return None if row is None else query.build(using, row)


class UserWithResidentBackend(ModelBackend):
    def get_user(self, user_id: int) -> User | None:  # type: ignore[override]
        user = user_with_resident(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None
