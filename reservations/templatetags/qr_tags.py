"""QR codes as inline SVG (segno), for what a phone or a kiosk's camera reads off a screen: a
booking reference, the resident's payment page, a kiosk's activation URL.

Inline SVG needs no image request and no inline style (the page's CSS sizes it through the `qr`
class), so it stays within a strict Content-Security-Policy.
"""

from __future__ import annotations

import segno
from django import template
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


def qr_svg_markup(payload: str, label: str) -> SafeString:
    """An SVG QR code (never a Micro QR, which phones and BarcodeDetector may not read) of
    `payload`, error correction M, a 4-module quiet zone, black on white, sized by CSS."""
    code = segno.make_qr(payload, error="m")
    svg = code.svg_inline(scale=4, border=4, omitsize=True, svgclass="qr", dark="#000", light="#fff", title=label)
    # segno escapes the title; role="img" makes it the image's accessible name.
    return mark_safe(svg.replace("<svg ", '<svg role="img" ', 1))  # noqa: S308 - segno's own output


@register.simple_tag
def qr_svg(payload: object, label: object = "") -> SafeString:
    """`{% qr_svg value label %}`: the QR code of `value` with `label` as its accessible name."""
    return qr_svg_markup(str(payload), str(label))
