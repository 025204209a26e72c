"""Who may call billing, and for what: each calling service has its own token and scopes.

Decisions (issue 17):
- Only the action server acts as any customer (``X-Acting-User``) on every route: every account
  request reaches billing through Rasa and an action, where the gateway's verified identity was
  checked against the customer's confirmation flow.
- The gateway gets exactly what it does itself, read-only where it can be:
  * ``slack_account:read``: ``GET /v1/me`` and ``GET /v1/balance`` for a Slack identity, and only
    a Slack one, so billing also checks that the Slack workspace is linked to the user's org.
    They serve the App Home tab and the "does billing know this Slack user?" check before a turn.
    They stay with the gateway because App Home is drawn by the gateway on Slack's
    ``app_home_opened`` event, which never passes through Rasa; what they show is what the same
    user sees by asking in their DM (the contract only with Manage Billing), and nothing changes.
  * ``handoffs:read``: ``GET /v1/handoffs/{number}``, to confirm a handoff notice is real before
    a customer's words are posted to a queue channel.
  * ``slack:link``: ``POST /v1/slack/workspaces``, the OAuth install linking the workspace to the
    installing system administrator's org.
  The catalog (list prices, the demo pricing page) is public and needs no token.
- The staff console (issue 22) gets ``console:read`` only: ``GET /v1/console/organisations``
  (a customer's organisation, from their email) and ``GET /v1/console/orders`` (orders the action
  server placed), for its index of conversations. It never acts as a customer: those routes take
  no acting user, and every other route refuses its token. Its token is optional: without
  ``BILLING_CONSOLE_TOKEN`` billing has no console caller. The gateway
  opens no leads itself (the action server does), so it has no write scope for them.
- A request outside the caller's scopes is refused with 403 ``scope_denied``, naming the caller;
  an unknown token gets 401 ``bad_service_token``. The audit log records which caller acted.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from ..config import Settings
from ..domain.errors import Forbidden, Unauthenticated

CUSTOMER = "customer"  # act as any customer on any route
SLACK_ACCOUNT_READ = "slack_account:read"
HANDOFFS_READ = "handoffs:read"
SLACK_LINK = "slack:link"
CONSOLE_READ = "console:read"
# Scopes that name an acting user only through a Slack identity (whose workspace billing checks).
SLACK_ONLY = frozenset({SLACK_ACCOUNT_READ, SLACK_LINK})

SCOPES: dict[str, frozenset[str]] = {
    "actions": frozenset({CUSTOMER}),
    "gateway": frozenset({SLACK_ACCOUNT_READ, HANDOFFS_READ, SLACK_LINK}),
    "console": frozenset({CONSOLE_READ}),
}
LABELS = {"actions": "the action server", "gateway": "the gateway", "console": "the staff console"}


@dataclass(frozen=True)
class Caller:
    name: str
    scopes: frozenset[str]

    def may(self, scope: str) -> bool:
        return CUSTOMER in self.scopes or scope in self.scopes

    def refuse(self, scope: str, why: str | None = None) -> Forbidden:
        who = LABELS.get(self.name, f"the {self.name} service")
        return Forbidden(
            f"{who[0].upper()}{who[1:]}'s token may not do this: "
            + (why or "acting for a customer here is for the action server only")
            + ".",
            code="scope_denied",
            details={"caller": self.name, "needs": scope},
        )


class CallerConfigError(ValueError):
    """The callers' tokens are missing, shared or set the old way (the message names the setting)."""


def load_callers(settings: Settings) -> dict[str, Caller]:
    """Token -> caller, from ``BILLING_<NAME>_TOKEN`` for each caller in ``SCOPES``."""
    if settings.billing_service_tokens.strip():
        raise CallerConfigError(
            "BILLING_SERVICE_TOKENS is no longer read: give each caller its own token in "
            "BILLING_ACTIONS_TOKEN and BILLING_GATEWAY_TOKEN (the same variables on their side)"
        )
    callers: dict[str, Caller] = {}
    for name, scopes in SCOPES.items():
        setting = f"billing_{name}_token"
        token = str(getattr(settings, setting, "") or "").strip()
        if not token:
            continue
        if token in callers:
            raise CallerConfigError(
                f"{setting.upper()} is the same as BILLING_{callers[token].name.upper()}_TOKEN: "
                "each caller needs its own token"
            )
        callers[token] = Caller(name, scopes)
    if not callers:
        raise CallerConfigError("no caller can reach billing: set BILLING_ACTIONS_TOKEN")
    return callers


def identify(callers: dict[str, Caller], authorization: str | None) -> Caller:
    """The caller presenting ``Authorization: Bearer <token>``; every known token is compared in
    constant time, so the answer's timing does not tell which one nearly matched."""
    scheme, _, token = (authorization or "").partition(" ")
    found = None
    if scheme.lower() == "bearer" and token:
        for known, caller in callers.items():
            if hmac.compare_digest(token.encode(), known.encode()):
                found = caller
    if found is None:
        raise Unauthenticated("A valid service token is required.", code="bad_service_token")
    return found
