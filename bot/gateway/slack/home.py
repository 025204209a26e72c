"""The App Home tab: the user's org, edition, licenses per product, open balance and next renewal,
with buttons for the common requests; rebuilt from billing every time the tab is opened.

Billing decides what the user may see: without Manage Billing there is no contract or balance,
and the tab says who can grant it. It reads with the gateway's own token, which billing lets read
``/v1/me`` and ``/v1/balance`` for a Slack identity only (bot/billing/api/callers.py says why), and
only from a Slack workspace linked to the user's org, the same rule as in the Messages tab.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.billing_client import BillingClient, BillingError, Forbidden, Me

from . import blocks
from .identity import Directory, SlackUser

NOT_LINKED = (
    "This Slack workspace isn't linked to a customer account, so I can't show one here. Pricing and "
    "general questions work in the Messages tab. If your company is a customer, a system administrator "
    "of its account can link this workspace by installing the app in it."
)

log = logging.getLogger(__name__)

ACTIONS = (  # action_id, title, payload sent to Rasa in the user's DM
    ("home_add_licenses", "Add licenses", "/add_licenses"),
    ("home_latest_invoice", "Latest invoice", '/get_invoice{"period":"latest"}'),
    ("home_pay", "Pay an invoice", "/pay_invoice"),
    ("home_talk_to_sales", "Talk to sales", "/talk_to_human"),
)
VISITOR_ACTIONS = (
    ("home_pricing", "Pricing", "/ask_pricing"),
    ("home_talk_to_sales", "Talk to sales", "/talk_to_human"),
)


def _date(day: date) -> str:
    return f"{day:%b} {day.day}, {day.year}"


def _buttons(actions: tuple[tuple[str, str, str], ...]) -> dict[str, Any]:
    return {
        "type": "actions",
        "block_id": "home_actions",
        "elements": [
            {"type": "button", "action_id": action_id, "text": blocks.plain(title, 75), "value": payload}
            for action_id, title, payload in actions
        ],
    }


def _header(text: str) -> dict[str, Any]:
    return {"type": "header", "text": blocks.plain(text, 150)}


def _view(body: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "home", "blocks": body[:100]}


def _fields(pairs: list[tuple[str, str]]) -> list[dict[str, Any]]:
    out = []
    for start in range(0, len(pairs), 10):  # a section holds at most 10 fields
        out.append(
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": f"*{blocks.escape(k)}*\n{blocks.escape(v)}"}
                    for k, v in pairs[start : start + 10]
                ],
            }
        )
    return out


async def account_view(billing: BillingClient, who: SlackUser) -> dict[str, Any]:
    intro = "Ask me anything about your subscription here or in our Messages tab: add licenses, invoices, payments."
    not_linked = _view([_header("Your account"), *blocks.section(NOT_LINKED), _buttons(VISITOR_ACTIONS)])
    if who.email is None and who.why_no_email == "not_linked":
        return not_linked
    if who.email is None:
        return _view(
            [
                _header("Your account"),
                *blocks.section(
                    "I can't see a verified email address on your Slack profile, so I can't show a customer account. "
                    "Pricing and general questions work in the Messages tab."
                ),
                _buttons(VISITOR_ACTIONS),
            ]
        )
    acting = billing.as_user(who.email, channel="slack", slack_team=who.home_team)
    try:
        me: Me = await acting.me()
    except Forbidden as error:
        if error.code == "slack_workspace_not_linked":
            return not_linked
        if error.code != "unknown_user":
            raise
        return _view(
            [
                _header("Your account"),
                *blocks.section(
                    f"Your Slack email ({who.email}) doesn't match a customer account here. Pricing and general "
                    "questions still work; if you should have access, ask your billing admin to add this address."
                ),
                _buttons(VISITOR_ACTIONS),
            ]
        )
    edition = (me.edition or "").replace("_", " ").title() or "No edition"
    body: list[dict[str, Any]] = [_header(f"{me.org}: {edition}"), *blocks.section(intro)]
    if not me.manage_billing:
        admins = ", ".join(f"{p.name} ({p.email})" for p in me.admins) or "your system administrator"
        body += blocks.section(
            f"You don't have the *Manage Billing* permission, so licenses, invoices and "
            f"payments aren't shown. {admins} can grant it in your profile or a permission set."
        )
        body.append(_buttons((ACTIONS[3],)))
        return _view(body)
    contract = me.contract
    pairs: list[tuple[str, str]] = []
    if contract is not None:
        pairs.append(("Next renewal", _date(contract.term_end)))
        pairs.append(("Monthly total", str(contract.monthly_total)))
    try:
        balance = await acting.balance()
        owed = str(balance.open_total)
        if balance.overdue_total.amount:
            owed += f" ({balance.overdue_total} overdue)"
        pairs.append(("Open balance", owed))
        if balance.next_due_date:
            pairs.append(("Next due", _date(balance.next_due_date)))
    except BillingError as error:
        pairs.append(("Open balance", "not available right now"))
        log.info("home: balance for a Slack user failed: %s", error.code)
    body += _fields(pairs)
    if contract is not None and contract.lines:
        body.append({"type": "divider"})
        body += _fields(
            [
                (
                    line.product_name,
                    f"{line.quantity} × {line.unit}{'s' if line.quantity != 1 else ''}"
                    if line.unit != "user"
                    else f"{line.quantity} license{'s' if line.quantity != 1 else ''}",
                )
                for line in contract.lines
            ]
        )
    body.append(_buttons(ACTIONS))
    return _view(body)


def unavailable_view(message: str) -> dict[str, Any]:
    return _view(
        [
            _header("Your account"),
            *blocks.section(f"{message} Open this tab again in a minute, or ask me in the Messages tab."),
        ]
    )


def register(app: AsyncApp, billing: BillingClient, directory: Directory) -> None:
    async def on_home_opened(
        event: dict[str, Any], body: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
    ) -> None:
        if event.get("tab") not in (None, "home") or not event.get("user"):
            return
        user = str(event["user"])
        team = str(context.team_id or body.get("team_id") or "")
        who = await directory.checked(await directory.user(client, team, user))
        try:
            view = await account_view(billing, who)
        except BillingError as error:
            view = unavailable_view(error.message)
        try:
            await client.views_publish(user_id=user, view=view)
        except Exception as error:
            log.warning("slack: views.publish failed: %s", getattr(error, "response", error))

    app.event("app_home_opened")(on_home_opened)
