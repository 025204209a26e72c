"""Sign in with Slack: OpenID Connect's authorization code flow, as a relying party.

The provider's endpoints come from discovery (``<CONSOLE_OIDC_ISSUER>/.well-known/openid-configuration``;
Slack's names ``/openid/connect/authorize``, ``/api/openid.connect.token`` and ``/openid/connect/keys``),
so tests point the issuer at a local mock provider (tests/oidc_mock) and nothing else changes.

What is checked, each of which a test breaks on purpose:
- ``state`` (a random value in a short-lived signed cookie) must come back unchanged: no forged or
  replayed callback signs anyone in;
- PKCE (S256): the code is useless without the verifier that only this browser's flow cookie holds;
- the ID token's signature against the provider's JWKS (RS256 only: no ``none``, no HS256 with a
  public key as secret), its issuer, audience (our client id), expiry and issue time (PyJWT), and its
  ``nonce`` (the flow's);
- the workspace, ``https://slack.com/team_id``, must be the vendor's own (``CONSOLE_SLACK_TEAM``).

Every call to the provider has a timeout (``CONSOLE_OIDC_TIMEOUT_S``).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt

TEAM_CLAIM = "https://slack.com/team_id"
USER_CLAIM = "https://slack.com/user_id"
SCOPES = "openid email profile"
FLOW_MINUTES = 10
_DISCOVERY_TTL_S = 3600.0


class SignInFailed(Exception):
    """The sign-in cannot complete; the message is safe to show the person (it names no secret)."""


@dataclass(frozen=True)
class Identity:
    user_id: str
    team_id: str
    email: str | None
    name: str | None


@dataclass(frozen=True)
class Flow:
    """What one browser's sign-in attempt must bring back: kept in a signed cookie until the callback."""

    state: str
    nonce: str
    verifier: str
    next: str

    @classmethod
    def start(cls, next_path: str) -> Flow:
        return cls(secrets.token_urlsafe(24), secrets.token_urlsafe(24), secrets.token_urlsafe(48), next_path)

    @property
    def challenge(self) -> str:
        digest = hashlib.sha256(self.verifier.encode()).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def seal(self, key: str) -> str:
        claims = {
            "flow": [self.state, self.nonce, self.verifier, self.next],
            "exp": int(time.time()) + FLOW_MINUTES * 60,
        }
        return jwt.encode(claims, key, algorithm="HS256")

    @classmethod
    def unseal(cls, value: str | None, key: str) -> Flow | None:
        if not value:
            return None
        try:
            claims = jwt.decode(value, key, algorithms=["HS256"], options={"require": ["exp"]})
            state, nonce, verifier, next_path = claims["flow"]
        except (jwt.PyJWTError, KeyError, TypeError, ValueError):
            return None
        return cls(str(state), str(nonce), str(verifier), str(next_path))


class Provider:
    """One OpenID provider and this console's registration with it."""

    def __init__(
        self, issuer: str, client_id: str, client_secret: str, *, team: str, redirect_uri: str, timeout: float
    ) -> None:
        self.issuer = issuer.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret
        self.team = team
        self.redirect_uri = redirect_uri
        self.timeout = timeout
        self._config: dict[str, Any] | None = None
        self._config_at = 0.0
        self._jwks: jwt.PyJWKClient | None = None

    @property
    def configured(self) -> bool:
        return bool(self.client_id and self.client_secret and self.team)

    async def discovery(self) -> dict[str, Any]:
        if self._config is not None and time.monotonic() - self._config_at < _DISCOVERY_TTL_S:
            return self._config
        url = f"{self.issuer}/.well-known/openid-configuration"
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                answer = await client.get(url)
            answer.raise_for_status()
            config = answer.json()
        except (httpx.HTTPError, ValueError):
            raise SignInFailed("Slack's sign-in service did not answer; try again in a minute.") from None
        needed = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")
        if not isinstance(config, dict) or any(not isinstance(config.get(k), str) for k in needed):
            raise SignInFailed("Slack's sign-in service described itself incompletely; try again later.")
        if config["issuer"].rstrip("/") != self.issuer:
            raise SignInFailed("The sign-in provider names another issuer than the one configured.")
        self._config, self._config_at = config, time.monotonic()
        self._jwks = jwt.PyJWKClient(config["jwks_uri"], cache_keys=True, lifespan=300, timeout=self.timeout)
        return config

    async def authorize_url(self, flow: Flow) -> str:
        config = await self.discovery()
        query = {
            "response_type": "code",
            "scope": SCOPES,
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "state": flow.state,
            "nonce": flow.nonce,
            "code_challenge": flow.challenge,
            "code_challenge_method": "S256",
            "team": self.team,  # Slack: go straight to the vendor's workspace
        }
        return f"{config['authorization_endpoint']}?{urlencode(query)}"

    async def finish(self, flow: Flow, state: str, code: str) -> Identity:
        """The callback: check ``state``, exchange ``code`` and verify the ID token."""
        if not secrets.compare_digest(state.encode(), flow.state.encode()):
            raise SignInFailed("This sign-in link is not the one this browser started; start again.")
        config = await self.discovery()
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.redirect_uri,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "code_verifier": flow.verifier,
        }
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                answer = await client.post(config["token_endpoint"], data=form)
            body = answer.json()
        except (httpx.HTTPError, ValueError):
            raise SignInFailed("Slack's sign-in service did not answer; try again in a minute.") from None
        # Slack answers 200 with {"ok": false, "error": ...}; standard providers a 4xx with "error".
        if answer.status_code != 200 or not isinstance(body, dict) or body.get("ok") is False or "error" in body:
            raise SignInFailed("Slack refused the sign-in code (used already, or expired); start again.")
        id_token = body.get("id_token")
        if not isinstance(id_token, str):
            raise SignInFailed("Slack's answer carried no identity; start again.")
        return await asyncio.to_thread(self.verify, id_token, flow.nonce)

    def verify(self, id_token: str, nonce: str) -> Identity:
        """The ID token's claims, once signature, issuer, audience, times, nonce and team hold."""
        if self._jwks is None:
            raise SignInFailed("The sign-in provider's keys are unknown; start again.")
        try:
            key = self._jwks.get_signing_key_from_jwt(id_token)
            claims = jwt.decode(
                id_token,
                key.key,
                algorithms=["RS256"],
                audience=self.client_id,
                issuer=self.issuer,
                options={"require": ["exp", "iat", "iss", "aud", "sub", "nonce"]},
                leeway=30,
            )
        except jwt.PyJWKClientError:
            raise SignInFailed("The sign-in provider's keys could not be read, or do not sign this token.") from None
        except jwt.ExpiredSignatureError:
            raise SignInFailed("The identity from Slack has expired; start again.") from None
        except jwt.PyJWTError:
            raise SignInFailed("The identity from Slack did not verify; start again.") from None
        if not secrets.compare_digest(str(claims["nonce"]).encode(), nonce.encode()):
            raise SignInFailed("The identity from Slack was issued for another sign-in; start again.")
        team = claims.get(TEAM_CLAIM)
        if not isinstance(team, str) or team != self.team:
            raise SignInFailed("Only members of the vendor's own Slack workspace can use the console.")
        user = claims.get(USER_CLAIM) or claims["sub"]
        email = claims.get("email") if claims.get("email_verified", True) is not False else None
        return Identity(str(user), team, email if isinstance(email, str) else None, _str(claims.get("name")))


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
