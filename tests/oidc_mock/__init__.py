"""Sign in with Slack without slack.com, for tests and offline demos.

``OidcMock`` is a small real HTTP server on loopback that answers the way Slack's OpenID Connect
provider does: discovery (``/.well-known/openid-configuration``, whose issuer is the mock's own
address), ``/openid/connect/authorize`` (auto-approves as the chosen ``TestUser`` and redirects back
with a code), ``/api/openid.connect.token`` (checks the code, that it was not used before, the client
secret, the redirect URI and the PKCE verifier; Slack-style ``{"ok": false, "error": ...}`` otherwise)
and ``/openid/connect/keys`` (a JWKS with an RSA key generated at start). ID tokens carry Slack's claims
(``https://slack.com/team_id``, ``https://slack.com/user_id``, email, name, nonce).

``mock.tamper`` makes the next ID tokens wrong in one way (nonce, team, audience, issuer, expiry, a
signature by a key the JWKS does not hold), so a console that skips a check fails a test.
"""

from __future__ import annotations

from .provider import OidcMock, Tamper, TestUser, Users

__all__ = ["OidcMock", "Tamper", "TestUser", "Users"]
