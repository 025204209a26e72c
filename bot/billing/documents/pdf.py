"""Invoice PDF: a Jinja2 HTML template rendered by fpdf2's ``write_html`` (pure Python).

Font: the core Helvetica font, so no font file has to ship (fpdf2's wheel bundles none and no
installed package carries a TTF). Core fonts are written with WinAnsiEncoding (Windows-1252),
which covers Latin-1 plus €, £, —, “ ”, ‘ ’, … and •. Anything outside it is transliterated
by ``pdf_safe`` ("Łódź" -> "Lódz": ó is in the code page), and what cannot be transliterated
(e.g. CJK) becomes "?": a name we cannot draw must never stop an invoice from rendering.
"""

from __future__ import annotations

import functools
import hashlib
import json
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from email.utils import parseaddr
from pathlib import Path
from typing import Any

from fpdf import FPDF, TextStyle
from jinja2 import Environment, FileSystemLoader, select_autoescape

from ..adapters.orm import Invoice, Org
from ..config import get_settings
from ..domain.money import format_money

TEMPLATES = Path(__file__).resolve().parent / "templates"
SALES_PHONE = "1-800-667-6389"
DEFAULT_VENDOR_NAME = "Vendor Cloud"
PDF_ENCODING = "windows-1252"
# Letters with no decomposition to a Latin base letter, and dashes/spaces the code page lacks.
_TRANSLIT = str.maketrans(
    {
        "Ł": "L",
        "ł": "l",
        "Đ": "D",
        "đ": "d",
        "Ħ": "H",
        "ħ": "h",
        "ı": "i",
        "ŀ": "l",
        "Ŀ": "L",
        "\t": " ",
        "‐": "-",
        "‑": "-",
        "‒": "-",
        "−": "-",
        "⁄": "/",
        "\u2009": " ",
        "\u202f": " ",
        "\u200b": "",
    }
)

HEADING_STYLES = {
    "h2": TextStyle(font_style="B", font_size_pt=16, color="#1f2937", t_margin=2, b_margin=1),
    "h3": TextStyle(font_style="B", font_size_pt=11, color="#1f2937", t_margin=1, b_margin=1),
}

env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html", "xml"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass(frozen=True)
class Vendor:
    name: str
    email: str
    phone: str


def vendor() -> Vendor:
    """Who issues the invoices (``VENDOR_NAME``)."""
    settings = get_settings()
    name = settings.vendor_name or DEFAULT_VENDOR_NAME
    return Vendor(name=name, email=parseaddr(settings.mail_from)[1], phone=SALES_PHONE)


def pdf_safe(text: str) -> str:
    """Make text drawable with a core font: keep Windows-1252 characters, transliterate the rest."""
    return "".join(map(_safe_char, text.translate(_TRANSLIT)))


@functools.lru_cache(maxsize=4096)  # an invoice repeats a few dozen characters: each is worked out once
def _safe_char(ch: str) -> str:
    if _encodable(ch):
        return ch
    if unicodedata.category(ch) in ("Cc", "Cf"):  # control and format characters: drop
        return ""
    base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
    return base if base and all(_encodable(c) for c in base) else "?"


def _encodable(ch: str) -> bool:
    if unicodedata.category(ch) == "Cc" and ch not in "\n\t":
        return False
    try:
        ch.encode(PDF_ENCODING)
    except UnicodeEncodeError:
        return False
    return True


def _status(invoice: Invoice, today: date) -> tuple[str, str, str]:
    """(label, colour, note)"""
    if invoice.status == "paid":
        paid = f"on {invoice.paid_at.date().isoformat()}" if invoice.paid_at else ""
        return "PAID", "#1a7f37", paid
    if invoice.status == "void":
        return "VOID", "#555555", "(cancelled: nothing is owed on this invoice)"
    if invoice.is_overdue(today):
        days = (today - invoice.due_date).days
        return "OVERDUE", "#c00000", f"(open, {days} day{'s' if days != 1 else ''} past due)"
    return "OPEN", "#000000", f"(payment due {invoice.due_date.isoformat()})"


def _bill_to(org: Org) -> list[str]:
    profile = org.billing_profile
    if profile is None:
        return [org.name]
    city_line = " ".join(
        p
        for p in [
            ", ".join(p for p in [profile.city, profile.region] if p),
            profile.postal_code,
        ]
        if p
    )
    lines = [
        org.name,
        profile.contact_name and f"Attn: {profile.contact_name}",
        profile.contact_email,
        profile.address_line1,
        profile.address_line2,
        city_line,
        profile.country,
    ]
    return [line for line in lines if line]


def _period(start: date | None, end: date | None) -> str:
    if start and end:
        return f"{start.isoformat()} – {end.isoformat()}"
    either = start or end
    return either.isoformat() if either else ""


def invoice_context(invoice: Invoice, org: Org, *, today: date) -> dict[str, Any]:
    """Display values for the templates (PDF and email): every amount already formatted. ``today``
    (the backend clock's) decides OVERDUE and how many days past due."""
    cur = invoice.currency
    status, color, note = _status(invoice, today)
    return {
        "vendor": vendor(),
        "number": invoice.number,
        "issue_date": invoice.issue_date.isoformat(),
        "due_date": invoice.due_date.isoformat(),
        "status": status,
        "status_color": color,
        "status_note": note,
        "bill_to": _bill_to(org),
        "org_name": org.name,
        "currency": cur,
        "lines": [
            {
                "description": line.description,
                "quantity": line.quantity,
                "unit_price": format_money(line.unit_amount, cur),
                "period": _period(line.period_start, line.period_end),
                "amount": format_money(line.amount, cur),
            }
            for line in invoice.lines
        ],
        "subtotal": format_money(invoice.subtotal, cur),
        "tax": format_money(invoice.tax, cur),
        "total": format_money(invoice.total, cur),
    }


class _InvoicePDF(FPDF):
    def __init__(self, number: str) -> None:
        super().__init__(format="A4")
        self.number = number
        self.core_fonts_encoding = PDF_ENCODING

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("helvetica", size=8)
        self.set_text_color(120)
        self.cell(0, 8, f"{self.number} · page {self.page_no()}/{{nb}} · Sales {SALES_PHONE}", align="C")


def render_invoice_pdf(invoice: Invoice, org: Org, *, today: date) -> bytes:
    """The invoice as PDF bytes. ``today`` (the backend clock's) decides OVERDUE."""
    return _rendered.get(invoice_context(invoice, org, today=today))


def _draw(context: dict[str, Any]) -> bytes:
    """The PDF of a context from ``invoice_context``: nothing else is read, so the context is a
    complete key for the bytes (the cache below relies on it)."""
    html = pdf_safe(env.get_template("invoice.html").render(**context))
    pdf = _InvoicePDF(pdf_safe(context["number"]))
    pdf.set_title(f"Invoice {context['number']}")
    pdf.set_author(context["vendor"].name)
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.add_page()
    pdf.set_font("helvetica", size=10)
    pdf.write_html(html, font_family="helvetica", table_line_separators=True, tag_styles=HEADING_STYLES)
    return bytes(pdf.output())


class RenderedPdfs:
    """The PDFs drawn lately, by what they show. An issued invoice rarely changes, and a customer
    downloads it, emails it, downloads it again; drawing one costs tens of milliseconds of CPU
    (fpdf2's HTML parser and table layout). The key is everything printed (``invoice_context``:
    the invoice's fields and lines, its status and days past due on the day, the organisation's
    name and billing address, the vendor), so a paid invoice, a new address or the next day's
    overdue count draws a new PDF, and a stale one is never served. Kept in memory, per process,
    at most ``size`` entries (a few kilobytes each), least recently used out first."""

    def __init__(self, draw: Callable[[dict[str, Any]], bytes], size: int = 256) -> None:
        self.draw, self.size = draw, size
        self._pdfs: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def key(context: dict[str, Any]) -> str:
        printed = json.dumps(context, sort_keys=True, default=repr, ensure_ascii=False)
        return hashlib.sha256(printed.encode()).hexdigest()

    def get(self, context: dict[str, Any]) -> bytes:
        key = self.key(context)
        with self._lock:
            if key in self._pdfs:
                self._pdfs.move_to_end(key)
                return self._pdfs[key]
        pdf = self.draw(context)  # outside the lock: two threads may draw the same PDF once each
        with self._lock:
            self._pdfs[key] = pdf
            while len(self._pdfs) > self.size:
                self._pdfs.popitem(last=False)
        return pdf


_rendered = RenderedPdfs(_draw)
