"""The demo pricing page at the gateway's root: the catalog's editions, add-ons and products with
list prices read from the billing API, and the widget embedded with one script tag.

``/`` is the page as a website visitor sees it; ``/account`` is the "logged in" variant: the page
mints a short-lived JWT for the seeded Enterprise admin (WIDGET_DEMO_USER) the way a vendor's site
would, and hands it to the widget. Both are served with a strict Content-Security-Policy (no inline
script or style, a nonce on the widget's tag) to show that the widget needs nothing more.
``/account`` signs anyone in, so it exists only in development (APP_ENV=development, bot/settings_check.py);
WIDGET_DEMO_PAGE=false turns the pricing page off too.
"""

from __future__ import annotations

import logging
import secrets
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from bot.billing_client import BillingClient
from bot.billing_client.errors import BillingError

from ..config import GatewaySettings
from .identity import Jwts

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
KINDS = (
    ("edition", "Editions", "per user per month, billed on your contract's term"),
    ("addon", "Add-ons", "per unit per month"),
    ("product", "More products", "per unit per month"),
)

_templates = Environment(
    loader=FileSystemLoader(str(HERE / "templates")),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def csp(nonce: str, settings: GatewaySettings) -> str:
    public = settings.gateway_public_url.rstrip("/")
    ws = (
        "wss://" + public.removeprefix("https://")
        if public.startswith("https://")
        else "ws://" + public.removeprefix("http://")
    )
    return (
        "default-src 'none'; "
        f"script-src 'self' 'nonce-{nonce}'; style-src 'self' 'nonce-{nonce}'; img-src 'self' data:; "
        f"connect-src 'self' {ws}; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )


class DemoPages:
    def __init__(self, settings: GatewaySettings, billing: BillingClient, jwts: Jwts) -> None:
        self.settings = settings
        self.billing = billing
        self.jwts = jwts

    async def _catalog(self) -> tuple[list[dict[str, Any]], str | None]:
        try:
            products = await self.billing.catalog("USD")
        except BillingError as error:
            log.warning("demo page: catalog unavailable: %s", error)
            return [], "Prices can't be shown right now. Ask the assistant, or call us on 1-800-667-6389."
        sections = []
        for kind, title, unit_note in KINDS:
            items = [p for p in products if p.kind == kind and p.price is not None]
            if items:
                sections.append({"kind": kind, "title": title, "note": unit_note, "products": items})
        return sections, None

    async def page(self, request: Request, *, signed_in: bool) -> HTMLResponse:
        sections, problem = await self._catalog()
        nonce = secrets.token_urlsafe(16)
        token = None
        if signed_in:
            if not self.jwts.can_mint:
                problem = "The demo sign-in needs WIDGET_JWT_PRIVATE_KEY (RS256) to sign its token."
            else:
                token = self.jwts.mint(self.settings.widget_demo_user, self.settings.widget_demo_user_name)
        html = _templates.get_template("pricing.html").render(
            sections=sections,
            problem=problem,
            nonce=nonce,
            token=token,
            signed_in=signed_in,
            user_name=self.settings.widget_demo_user_name,
            user_email=self.settings.widget_demo_user,
            greeting=(
                f"Hi {self.settings.widget_demo_user_name.split()[0]}! I can show your invoices, add licenses and more."
                if signed_in
                else "Questions about pricing? Ask me, e.g. \u201chow much is Enterprise for 40 users?\u201d"
            ),
        )
        return HTMLResponse(
            html,
            status_code=200,
            headers={
                "Content-Security-Policy": csp(nonce, self.settings),
                "Cache-Control": "no-store",
                "Referrer-Policy": "strict-origin-when-cross-origin",
                "X-Content-Type-Options": "nosniff",
            },
        )
