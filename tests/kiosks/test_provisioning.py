"""Provisioning a kiosk in the admin: the one-time code with a QR code of the activation URL, shown
once; issuing a fresh code; the activation page filled in from the QR code's URL."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client
from django.urls import reverse

from kiosks import services
from kiosks.models import Kiosk
from tests.factories import staff_client
from tests.kiosks.conftest import NOW, element, qr_of

pytestmark = pytest.mark.django_db

CODE = re.compile(r"アクティベーションコード: <strong class=\"activation-code\">([A-Z0-9]{5}-[A-Z0-9]{5})</strong>")


def provision(admin: Client, facility, name: str = "ロビー") -> tuple[str, str]:
    response = admin.post(
        reverse("admin:kiosks_kiosk_add"),
        {"facility": facility.pk, "name": name, "accesses-TOTAL_FORMS": 0},
        follow=True,
    )
    assert response.status_code == 200
    page = response.content.decode()
    match = CODE.search(page)
    assert match, page[:3000]
    return match.group(1), page


def test_the_admin_shows_the_code_and_a_qr_code_of_the_activation_url_once(clock, facility, staff):
    admin = staff_client(staff)
    code, page = provision(admin, facility)
    kiosk = Kiosk.objects.get(name="ロビー")
    url = f"http://testserver/kiosk/activate/?code={code}"
    assert url in page
    assert qr_of(url, "端末の有効化用URLのQRコード") in page  # the QR code holds exactly that URL
    assert "<script" not in element(page, "content") and "style=" not in element(page, "content")

    again = admin.get(reverse("admin:kiosks_kiosk_activation", args=[kiosk.pk])).content.decode()
    assert "すでに表示済み" in again
    assert code not in again and 'class="qr"' not in again
    assert code not in admin.get(reverse("admin:kiosks_kiosk_change", args=[kiosk.pk])).content.decode()
    assert code not in str(dict(admin.session.items()))  # taken out of the session once shown

    tablet = Client()
    form = tablet.get(url)  # what scanning the QR code opens: the form, filled in, not yet activated
    assert form.status_code == 200 and f'value="{code}"' in form.content.decode()
    assert Kiosk.objects.get(pk=kiosk.pk).activated_at is None
    assert tablet.post(reverse("kiosks:activate"), {"code": code}).status_code == 302
    assert tablet.get(reverse("kiosks:home")).status_code == 200


def test_a_fresh_code_replaces_the_tablet_and_the_old_code(clock, facility, staff):
    admin = staff_client(staff)
    first_code, _page = provision(admin, facility)
    kiosk = Kiosk.objects.get(name="ロビー")
    old_tablet = Client()
    assert old_tablet.post(reverse("kiosks:activate"), {"code": first_code}).status_code == 302

    response = admin.post(
        reverse("admin:kiosks_kiosk_changelist"),
        {"action": "reissue_code", "_selected_action": [kiosk.pk]},
        follow=True,
    )
    page = response.content.decode()
    new_code = CODE.search(page).group(1)
    assert (
        new_code != first_code
        and qr_of(f"http://testserver/kiosk/activate/?code={new_code}", "端末の有効化用URLのQRコード") in page
    )
    assert old_tablet.get(reverse("kiosks:home")).status_code == 403  # the old key stopped at once
    assert Client().post(reverse("kiosks:activate"), {"code": first_code}).status_code == 400
    new_tablet = Client()
    assert new_tablet.post(reverse("kiosks:activate"), {"code": new_code}).status_code == 302
    assert new_tablet.get(reverse("kiosks:home")).status_code == 200


def test_a_fresh_code_is_for_one_kiosk_not_revoked(clock, facility, staff):
    admin = staff_client(staff)
    provision(admin, facility, "a")
    provision(admin, facility, "b")
    both = list(Kiosk.objects.values_list("pk", flat=True))
    response = admin.post(
        reverse("admin:kiosks_kiosk_changelist"), {"action": "reissue_code", "_selected_action": both}, follow=True
    )
    assert "1台だけ選んでください" in response.content.decode()

    services.kiosk_revoke(kiosk_id=both[0], now=NOW)
    response = admin.post(
        reverse("admin:kiosks_kiosk_changelist"),
        {"action": "reissue_code", "_selected_action": [both[0]]},
        follow=True,
    )
    assert "停止した端末にはコードを発行できません" in response.content.decode()
    assert Kiosk.objects.get(pk=both[0]).code_hash == ""
    with pytest.raises(Kiosk.DoesNotExist):
        services.kiosk_reissue_code(kiosk_id=both[0], now=NOW + dt.timedelta(minutes=1))
