"""Outgoing mail: the invoice email, and ``send_message`` for any other mail we send.

Transport comes from ``SMTP_URL``:
  smtp://[user:pass@]host[:port]               plain SMTP (port 25)
  smtp://[user:pass@]host[:port]?starttls=1    STARTTLS is required (port 587); no downgrade
  smtps://[user:pass@]host[:port]              implicit TLS (port 465)
  (empty)                                      the message is written as .eml into OUTBOX_DIR
Every connection uses ``SMTP_TIMEOUT_S``. The envelope is checked recipient by recipient
before any data is sent, so a refused recipient means nobody got the message.
"""

from __future__ import annotations

import copy
import io
import logging
import os
import smtplib
import ssl
from dataclasses import dataclass
from datetime import date, datetime, timezone
from email.generator import BytesGenerator
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import formatdate, getaddresses, make_msgid, parseaddr
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit
from uuid import uuid4

from ..adapters.orm import Invoice, Org
from ..config import get_settings
from ..domain.errors import Unavailable
from .pdf import env, invoice_context, render_invoice_pdf

log = logging.getLogger(__name__)

UNAVAILABLE = "I couldn't send the email just now; nothing was sent. Please try again in a few minutes."


def send_invoice_email(
    invoice: Invoice, org: Org, *, to: list[str], sender_name: str, today: date, note: str = ""
) -> None:
    """Email the invoice PDF to ``to`` (already validated addresses); ``today`` (the backend clock's)
    decides whether it reads as overdue. Raises Unavailable."""
    context = invoice_context(invoice, org, today=today)
    filename = f"{invoice.number}.pdf"
    context.update(sender_name=sender_name, note=note.strip(), filename=filename)
    if invoice.status == "paid":
        tail = f"{context['total']} (paid)"
    elif invoice.status == "void":
        tail = f"{context['total']} (void)"
    else:
        tail = f"{context['total']} due {context['due_date']}"

    msg = EmailMessage()
    msg["Subject"] = f"Invoice {invoice.number} from {context['vendor'].name}, {tail}"
    msg["From"] = get_settings().mail_from
    msg["To"] = ", ".join(to)
    msg.set_content(env.get_template("invoice_email.txt").render(**context), cte="quoted-printable")
    msg.add_alternative(
        env.get_template("invoice_email.html").render(**context), subtype="html", cte="quoted-printable"
    )
    msg.add_attachment(
        render_invoice_pdf(invoice, org, today=today), maintype="application", subtype="pdf", filename=filename
    )
    send_message(msg)


def send_message(msg: EmailMessage) -> None:
    """Deliver one message by the configured transport. Fills From, Date and Message-ID when
    missing. Any transport failure raises Unavailable (code ``mail_unavailable``)."""
    settings = get_settings()
    if not msg["From"]:
        msg["From"] = settings.mail_from
    if not msg["Date"]:
        msg["Date"] = formatdate(usegmt=True)
    if not msg["Message-ID"]:
        domain = parseaddr(settings.mail_from)[1].rpartition("@")[2] or None
        msg["Message-ID"] = make_msgid(domain=domain)
    try:
        if settings.smtp_url.strip():
            _send_smtp(msg, parse_smtp_url(settings.smtp_url), settings.smtp_timeout_s)
        else:
            path = _write_outbox(msg, Path(settings.outbox_dir))
            log.info("SMTP_URL is empty: wrote %s to %s", msg["Subject"], path)
    except (smtplib.SMTPException, OSError, ValueError) as exc:
        # ValueError: a malformed SMTP_URL. Never log the URL itself (it may hold a password).
        log.warning("mail not sent (%s): %s: %s", msg["Subject"], type(exc).__name__, exc)
        raise Unavailable(UNAVAILABLE, code="mail_unavailable") from exc


@dataclass(frozen=True)
class SmtpTarget:
    implicit_tls: bool
    host: str
    port: int
    username: str
    password: str
    starttls: bool


def parse_smtp_url(url: str) -> SmtpTarget:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError("SMTP_URL must look like smtp://[user:pass@]host:port or smtps://...")
    implicit_tls = parts.scheme == "smtps"
    flag = parse_qs(parts.query).get("starttls", ["0"])[-1].lower()
    starttls = not implicit_tls and flag in ("1", "true", "yes", "on")
    port = parts.port or (465 if implicit_tls else 587 if starttls else 25)
    return SmtpTarget(
        implicit_tls, parts.hostname, port, unquote(parts.username or ""), unquote(parts.password or ""), starttls
    )


def _send_smtp(msg: EmailMessage, target: SmtpTarget, timeout: float) -> None:
    context = ssl.create_default_context()
    if target.implicit_tls:
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(target.host, target.port, timeout=timeout, context=context)
    else:
        smtp = smtplib.SMTP(target.host, target.port, timeout=timeout)
    try:
        smtp.ehlo()
        if target.starttls:  # raises SMTPNotSupportedError if the server does not offer it
            smtp.starttls(context=context)
            smtp.ehlo()
        if target.username:
            smtp.login(target.username, target.password)
        _transmit(smtp, msg)
    finally:
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):  # the message is already accepted (or not): just drop the line
            smtp.close()


def _transmit(smtp: smtplib.SMTP, msg: EmailMessage) -> None:
    """MAIL FROM, every RCPT TO, and DATA only if every recipient was accepted."""
    sender = parseaddr(str(msg["From"]))[1]
    fields = [str(v) for name in ("To", "Cc", "Bcc") for v in msg.get_all(name, [])]
    recipients = [addr for _, addr in getaddresses(fields) if addr]
    if not sender or not recipients:
        raise ValueError("a message needs a From address and at least one recipient")
    utf8 = not all(a.isascii() for a in [sender, *recipients])
    options = ["SMTPUTF8", "BODY=8BITMIME"] if utf8 else []
    if utf8 and not smtp.has_extn("smtputf8"):
        raise smtplib.SMTPNotSupportedError("international addresses need SMTPUTF8, not offered")
    code, resp = smtp.mail(sender, options)
    if code != 250:
        raise smtplib.SMTPSenderRefused(code, resp, sender)
    refused = {}
    for rcpt in recipients:
        code, resp = smtp.rcpt(rcpt)
        if code not in (250, 251):
            refused[rcpt] = (code, resp)
    if refused:
        smtp.rset()
        raise smtplib.SMTPRecipientsRefused(refused)
    smtp.data(_wire_bytes(msg, utf8=utf8))  # raises SMTPDataError unless 250


def _wire_bytes(msg: EmailMessage, *, utf8: bool) -> bytes:
    outgoing = copy.copy(msg)
    del outgoing["Bcc"]
    buffer = io.BytesIO()
    policy = msg.policy
    if isinstance(policy, EmailPolicy):  # EmailMessage's (email.policy.default); compat32 knows no utf8
        policy = policy.clone(utf8=utf8)
    BytesGenerator(buffer, policy=policy).flatten(outgoing, linesep="\r\n")
    return buffer.getvalue()


def _write_outbox(msg: EmailMessage, outbox: Path) -> Path:
    outbox.mkdir(parents=True, exist_ok=True)
    # The real time on purpose, not the billing clock: the name orders the folder by when each file
    # was written (like a log line's time), which a pinned clock would make a tie. Likewise the
    # Date header (send_message) is when the message left, a transport fact.
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    path = outbox / f"{stamp}-{uuid4().hex[:8]}.eml"
    tmp = path.with_suffix(".eml.tmp")
    tmp.write_bytes(bytes(msg))
    os.replace(tmp, path)  # a reader never sees half a message
    return path
