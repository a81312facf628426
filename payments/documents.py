"""PDF receipts (領収書) and use permits (使用許可書), drawn with reportlab.

Dates are in 和暦 with the Gregorian date beside them; a QR code carries the booking reference so
counter staff can scan it. The Japanese font: the TrueType file at settings.PDF_FONT_PATH (IPAex
Gothic, which `make fonts` installs from Debian's fonts-ipaexfont-gothic), embedded in the PDF. On a
machine without it, reportlab's built-in CID font HeiseiKakuGo-W5 (not embedded) keeps PDFs working.
Official documents are Japanese only.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

from django.conf import settings
from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

from reservations.domain import TOKYO
from reservations.models import Reservation
from reservations.templatetags.reservation_tags import wareki

from .models import Payment

CID_FONT = "HeiseiKakuGo-W5"
TTF_NAME = "ProjectJapanese"


def _font() -> str:
    path = getattr(settings, "PDF_FONT_PATH", "")
    if path and Path(path).is_file():
        if TTF_NAME not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(TTFont(TTF_NAME, path))
        return TTF_NAME
    if CID_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(CID_FONT))
    return CID_FONT


def _date(day: dt.date) -> str:
    return f"{wareki(day)}（{day:%Y-%m-%d}）"


def _qr(pdf: canvas.Canvas, text: str, x: float, y: float, size: float) -> None:
    widget = QrCodeWidget(text)
    x0, y0, x1, y1 = widget.getBounds()
    drawing = Drawing(size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0])
    drawing.add(widget)
    renderPDF.draw(drawing, pdf, x, y)


def _document(title: str, reference: str, rows: list[tuple[str, str]], footer: str) -> bytes:
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    pdf.setTitle(title)
    pdf.setSubject(reference)
    pdf.setAuthor(settings.WARD_NAME)
    font = _font()
    width, height = A4
    pdf.setFont(font, 22)
    pdf.drawCentredString(width / 2, height - 30 * mm, title)
    pdf.setFont(font, 11)
    y = height - 50 * mm
    for label, value in rows:
        pdf.drawString(25 * mm, y, label)
        pdf.drawString(65 * mm, y, value)
        y -= 9 * mm
    pdf.drawString(25 * mm, y - 6 * mm, footer)
    pdf.drawString(25 * mm, 30 * mm, f"{settings.WARD_NAME}長")
    _qr(pdf, reference, width - 55 * mm, height - 75 * mm, 30 * mm)
    pdf.setFont(font, 8)
    pdf.drawString(width - 55 * mm, height - 80 * mm, f"予約番号 {reference}")
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def _bands(reservation: Reservation) -> str:
    first, last = reservation.band_from, reservation.band_to
    label = first.label if first.pk == last.pk else f"{first.label}〜{last.label}"
    return f"{label}（{first.starts_at:%H:%M}–{last.ends_at:%H:%M}）"


def _holder(reservation: Reservation) -> str:
    if reservation.group is not None:
        return f"{reservation.group.name}"
    return reservation.resident.full_name if reservation.resident else ""


def receipt_pdf(payment: Payment, *, issued: dt.datetime) -> bytes:
    """The receipt (領収書) of a payment that succeeded."""
    r = payment.reservation
    paid_at = (payment.succeeded_at or issued).astimezone(TOKYO)
    rows = [
        ("宛名", f"{_holder(r)} 様"),
        ("金額", f"¥{payment.amount:,}-"),
        ("但し", f"施設使用料として（{payment.get_method_display()}）"),
        ("予約番号", r.reference),
        ("施設・室場", f"{r.room.facility.name} {r.room.name}"),
        ("利用日", _date(r.date)),
        ("時間帯", _bands(r)),
        ("領収日", _date(paid_at.date())),
        ("領収書番号", payment.receipt_number or f"WEB-{payment.pk:08d}"),
    ]
    if payment.refunded_amount:
        rows.append(("還付額", f"¥{payment.refunded_amount:,}"))
    footer = f"上記の金額を正に領収いたしました。 発行日 {_date(issued.astimezone(TOKYO).date())}"
    return _document("領収書", r.reference, rows, footer)


def permit_pdf(reservation: Reservation, *, issued: dt.datetime) -> bytes:
    """The use permit (使用許可書) of a confirmed booking."""
    r = reservation
    rows = [
        ("使用者", f"{_holder(r)} 様"),
        ("許可番号", r.reference),
        ("施設・室場", f"{r.room.facility.name} {r.room.name}"),
        ("使用日", _date(r.date)),
        ("時間帯", _bands(r)),
        ("利用目的", r.purpose.name if r.purpose else "—"),
        ("使用料", f"¥{r.fee:,}"),
    ]
    footer = f"上記のとおり使用を許可します。 許可日 {_date(issued.astimezone(TOKYO).date())}"
    return _document("使用許可書", r.reference, rows, footer)
