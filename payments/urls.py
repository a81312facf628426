from django.urls import path

from . import views

app_name = "payments"

urlpatterns = [
    path("bookings/<int:reservation_id>/", views.booking_payment, name="booking"),
    path("bookings/<int:reservation_id>/checkout/", views.checkout, name="checkout"),
    path("result/<int:payment_id>/", views.result, name="result"),
    path("receipts/<int:payment_id>.pdf", views.receipt, name="receipt"),
    path("bookings/<int:reservation_id>/permit.pdf", views.permit, name="permit"),
    path("webhook/", views.webhook, name="webhook"),
    path("staff/cash-up/", views.cash_up, name="cash_up"),
    path("staff/reconciliation.csv", views.reconciliation_csv, name="reconciliation_csv"),
]
