"""QR codes of ``otpauth://`` URIs as inline SVG (``qrcode``'s path factory): no CDN, no image request."""

from __future__ import annotations

import qrcode
from qrcode.image.svg import SvgPathImage


def qr_svg(data: str) -> str:
    """An ``<svg>`` element drawing ``data`` as a QR code (one path, no inline style or script)."""
    image = qrcode.make(data, image_factory=SvgPathImage)
    return image.to_string(encoding="unicode")
