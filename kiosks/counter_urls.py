"""The counter terminal's pages, included in /staff/ (namespace "staff") by staff_urls.py."""

from django.urls import path

import reservations.urls  # noqa: F401  (registers the "date" path converter used below)

from . import counter_manage_views as manage
from . import counter_views as counter

urlpatterns = [
    path("counter/", manage.counter_set, name="counter_set"),
    # residents
    path("residents/new/", counter.resident_register, name="resident_register"),
    path("residents/<int:resident_id>/", counter.resident_detail, name="resident"),
    path("residents/<int:resident_id>/activate/", counter.resident_activate, name="resident_activate"),
    path("residents/<int:resident_id>/pin/", counter.resident_pin, name="resident_pin"),
    path("residents/<int:resident_id>/groups/<int:group_id>/activate/", counter.group_activate, name="group_activate"),
    path("residents/<int:resident_id>/exemption/", counter.resident_exemption, name="resident_exemption"),
    path("residents/<int:resident_id>/book/", counter.book_start, name="book_start"),
    path("residents/<int:resident_id>/book/<int:room_id>/<date:day>/", counter.book_slot, name="book_slot"),
    path("residents/<int:resident_id>/lottery/", counter.lottery_start, name="lottery_start"),
    path("residents/<int:resident_id>/lottery/<int:room_id>/", counter.lottery_apply, name="lottery_apply"),
    # bookings, payments, lottery entries and wins
    path("bookings/<int:reservation_id>/", counter.booking_detail, name="booking"),
    path("bookings/<int:reservation_id>/pay/", counter.booking_pay, name="booking_pay"),
    path("bookings/<int:reservation_id>/cancel/", counter.booking_cancel, name="booking_cancel"),
    path("bookings/<int:reservation_id>/permit.pdf", counter.booking_permit, name="booking_permit"),
    path("payments/<int:payment_id>/receipt.pdf", counter.payment_receipt, name="payment_receipt"),
    path("payments/<int:payment_id>/refund/", counter.payment_refund, name="payment_refund"),
    path("entries/<int:entry_id>/withdraw/", counter.entry_withdraw, name="entry_withdraw"),
    path("outcomes/<int:outcome_id>/<str:answer>/", counter.outcome_answer, name="outcome_answer"),
    # management
    path("facilities/<int:facility_id>/cash-up/", manage.cash_up, name="cash_up"),
    path("facilities/<int:facility_id>/closures/", manage.closures, name="closures"),
    path("facilities/<int:facility_id>/closures/new/", manage.closure_create, name="closure_create"),
    path("facilities/<int:facility_id>/blocks/new/", manage.block_create, name="block_create"),
    path("lottery/rounds/", manage.rounds, name="rounds"),
    path("lottery/rounds/<int:round_id>/", manage.round_detail, name="round"),
    path("lottery/rounds/<int:round_id>/dates/", manage.round_dates, name="round_dates"),
    path("lottery/rounds/<int:round_id>/draw/", manage.round_draw, name="round_draw"),
    path("approvals/", manage.approvals, name="approvals"),
    path("approvals/refunds/<int:refund_id>/", manage.refund_decide, name="refund_decide"),
    path("approvals/exemptions/<int:exemption_id>/", manage.exemption_decide, name="exemption_decide"),
]
