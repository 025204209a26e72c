"""The OAuth install links the workspace to the installer's billing org (issue 17).

A Slack identity counts only in a workspace linked to the user's org. When a customer installs
the app (``/slack/install``), the installer is looked up the same way as anyone writing to the
bot (``Directory.user``: a confirmed email, their own team being the one installed); billing then
links the team to their org if they are an active system administrator there, and says why not
otherwise. The app stays installed either way: the vendor's own workspace (handoff queues) and a
prospect's are installed without being a customer's. Single-workspace setups link with
``python -m bot.billing.slack_link``.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable

from slack_bolt.oauth.async_callback_options import AsyncCallbackOptions, AsyncFailureArgs, AsyncSuccessArgs
from slack_bolt.response import BoltResponse
from slack_sdk.oauth.installation_store import Installation
from slack_sdk.web.async_client import AsyncWebClient

from bot.billing_client import BillingClient, BillingError, Forbidden

from .identity import Directory

log = logging.getLogger(__name__)

PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto"><h1>{title}</h1>
<p>{text}</p></body></html>"""


async def link_installation(
    billing: BillingClient, directory: Directory, client: AsyncWebClient, installation: Installation
) -> tuple[str | None, str]:
    """(the linked org's name, or None; a sentence for the installer)."""
    team, installer = installation.team_id, installation.user_id
    if not team or not installer or installation.is_enterprise_install:
        return None, "an organisation-wide install is linked by the vendor's team: ask your account team"
    who = await directory.user(client, team, installer)
    if who.email is None:
        return None, (
            "your Slack profile has no email address Slack has confirmed, so I can't tell which "
            "customer account you administer"
        )
    if who.home_team != team:
        return None, "you installed it as a guest of this workspace; a member of it needs to install it"
    try:
        org = await billing.as_user(who.email, channel="slack", slack_team=team).link_slack_workspace(team)
    except Forbidden as error:
        if error.code in ("needs_system_admin", "unknown_user"):
            return None, error.message.rstrip(".")
        raise
    except BillingError as error:
        log.warning("slack: linking team %s failed: %s", team, error.code)
        return None, "the billing system couldn't be reached; install the app again in a few minutes"
    return org, ""


def callbacks(
    billing: BillingClient, directory: Directory, client_for: Callable[[str | None], AsyncWebClient]
) -> AsyncCallbackOptions:
    """Bolt's OAuth callbacks: on success, link the workspace and say what happened."""

    async def success(args: AsyncSuccessArgs) -> BoltResponse:
        installation = args.installation
        try:
            org, why = await link_installation(billing, directory, client_for(installation.bot_token), installation)
        except Exception:
            log.exception("slack: linking an installed workspace failed")
            org, why = None, "something went wrong on our side; install the app again in a few minutes"
        if org:
            text = (
                f"The assistant is installed and this Slack workspace is linked to {html.escape(org)}. People "
                "here whose confirmed Slack email belongs to a user of that account can now ask about it."
            )
            return _page("Installed and linked", text)
        text = (
            f"The assistant is installed, but this workspace is not linked to a customer account: "
            f"{html.escape(why)}. Pricing and general questions work; account questions will be refused here "
            "until a system administrator of your company's account installs the app."
        )
        return _page("Installed, not linked", text)

    async def failure(args: AsyncFailureArgs) -> BoltResponse:
        return await args.default.failure(args)

    return AsyncCallbackOptions(success=success, failure=failure)


def _page(title: str, text: str) -> BoltResponse:
    return BoltResponse(
        status=200,
        body=PAGE.format(title=html.escape(title), text=text),
        headers={"Content-Type": "text/html; charset=utf-8"},
    )
