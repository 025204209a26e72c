"""A local OpenID provider shaped like Slack's "Sign in with Slack" (see the package docstring)."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlparse

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

CODE_TTL_S = 120


@dataclass
class TestUser:
    user_id: str
    team_id: str
    email: str
    name: str

    __test__ = False  # not a pytest class


@dataclass
class Grant:
    client_id: str
    redirect_uri: str
    challenge: str
    nonce: str
    user: TestUser
    expires: float
    used: bool = False


@dataclass
class Tamper:
    """What the next ID tokens get wrong, so a test sees the console refuse them."""

    nonce: str | None = None  # another nonce than the one the console sent
    team: str | None = None  # another workspace
    audience: str | None = None
    issuer: str | None = None
    expires_in: int = 600  # negative: already expired
    foreign_key: bool = False  # signed with a key the JWKS does not hold (same kid)
    drop_team: bool = False


def _b64(number: int) -> str:
    raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class OidcMock:
    """Discovery, authorize (auto-approves as ``user``), token, JWKS and ID tokens with Slack's claims,
    on ``http://127.0.0.1:<port>``, which is also its issuer."""

    def __init__(
        self, client_id: str, client_secret: str, user: TestUser, redirect_uris: list[str] | None = None
    ) -> None:
        self.client_id, self.client_secret = client_id, client_secret
        self.user = user
        self.redirect_uris = list(redirect_uris or [])  # empty: the first one used is registered
        self.tamper = Tamper()
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._foreign = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = secrets.token_hex(8)
        self.grants: dict[str, Grant] = {}
        self.refusals: list[str] = []  # why each refused token request was refused
        self.tokens_issued = 0
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> OidcMock:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> OidcMock:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reset(self, user: TestUser | None = None, *, redirect_uris: bool = True) -> None:
        """No tampering, no refusals; ``user`` approved from now on; with ``redirect_uris`` the next
        client to ask registers its redirect URI afresh (a new console on a new port)."""
        with self._lock:
            self.tamper = Tamper()
            self.refusals.clear()
            if redirect_uris:
                self.redirect_uris.clear()
            if user is not None:
                self.user = user

    # -- the documents ---------------------------------------------------------------------------------

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/openid/connect/authorize",
            "token_endpoint": f"{self.issuer}/api/openid.connect.token",
            "userinfo_endpoint": f"{self.issuer}/api/openid.connect.userInfo",
            "jwks_uri": f"{self.issuer}/openid/connect/keys",
            "scopes_supported": ["openid", "profile", "email"],
            "response_types_supported": ["code"],
            "response_modes_supported": ["form_post"],
            "grant_types_supported": ["authorization_code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "claims_supported": ["sub", "auth_time", "iss", "aud", "exp", "iat", "nonce", "email", "name"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "code_challenge_methods_supported": ["S256"],
        }

    def jwks(self) -> dict[str, Any]:
        numbers = self.key.public_key().public_numbers()
        return {
            "keys": [
                {
                    "kty": "RSA",
                    "alg": "RS256",
                    "use": "sig",
                    "kid": self.kid,
                    "n": _b64(numbers.n),
                    "e": _b64(numbers.e),
                }
            ]
        }

    def id_token(self, grant: Grant) -> str:
        t, user, now = self.tamper, grant.user, int(time.time())
        claims: dict[str, Any] = {
            "iss": t.issuer or self.issuer,
            "sub": user.user_id,
            "aud": t.audience or grant.client_id,
            "exp": now + t.expires_in,
            "iat": now if t.expires_in > 0 else now + t.expires_in - 60,
            "auth_time": now,
            "nonce": t.nonce or grant.nonce,
            "at_hash": secrets.token_urlsafe(16),
            "https://slack.com/user_id": user.user_id,
            "https://slack.com/team_id": t.team or user.team_id,
            "email": user.email,
            "email_verified": True,
            "name": user.name,
            "locale": "en-US",
        }
        if t.drop_team:
            claims.pop("https://slack.com/team_id")
        key = self._foreign if t.foreign_key else self.key
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": self.kid})

    # -- the two steps -----------------------------------------------------------------------------------

    def authorize(self, query: dict[str, str]) -> tuple[int, str]:
        """(status, Location or an error text)."""
        needed = ("response_type", "client_id", "redirect_uri", "scope", "state", "nonce", "code_challenge")
        missing = [name for name in needed if not query.get(name)]
        if missing:
            return 400, f"missing {', '.join(missing)}"
        if query["client_id"] != self.client_id:
            return 400, "unknown client_id"
        if query["response_type"] != "code" or "openid" not in query["scope"].split():
            return 400, "response_type=code and scope openid are required"
        if query.get("code_challenge_method") != "S256":
            return 400, "code_challenge_method must be S256"
        with self._lock:
            if not self.redirect_uris:
                self.redirect_uris.append(query["redirect_uri"])
            if query["redirect_uri"] not in self.redirect_uris:
                return 400, "redirect_uri is not registered"
            code = secrets.token_urlsafe(24)
            self.grants[code] = Grant(
                query["client_id"], query["redirect_uri"], query["code_challenge"], query["nonce"], self.user,
                time.time() + CODE_TTL_S,
            )  # fmt: skip
        return 302, f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}"

    def token(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        def refuse(error: str) -> tuple[int, dict[str, Any]]:
            self.refusals.append(error)
            return 200, {"ok": False, "error": error}  # Slack answers 200 with ok: false

        if form.get("grant_type") != "authorization_code":
            return refuse("unsupported_grant_type")
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            return refuse("invalid_client")
        with self._lock:
            grant = self.grants.get(form.get("code", ""))
            if grant is None or grant.expires < time.time():
                return refuse("invalid_code")
            if grant.used:
                return refuse("code_already_used")
            grant.used = True
            if form.get("redirect_uri") != grant.redirect_uri:
                return refuse("bad_redirect_uri")
            verifier = form.get("code_verifier", "")
            digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            if not verifier or not secrets.compare_digest(digest, grant.challenge):
                return refuse("invalid_code_verifier")
            self.tokens_issued += 1
        return 200, {
            "ok": True,
            "access_token": "xoxp-" + secrets.token_hex(12),
            "token_type": "Bearer",
            "id_token": self.id_token(grant),
        }

    # -- HTTP ----------------------------------------------------------------------------------------------

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        mock = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _send(self, status: int, body: Any, location: str | None = None) -> None:
                data = json.dumps(body).encode() if not isinstance(body, str) else body.encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json" if not isinstance(body, str) else "text/plain")
                if location:
                    self.send_header("Location", location)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                url = urlparse(self.path)
                if url.path == "/.well-known/openid-configuration":
                    self._send(200, mock.discovery())
                elif url.path == "/openid/connect/keys":
                    self._send(200, mock.jwks())
                elif url.path == "/openid/connect/authorize":
                    status, where = mock.authorize(dict(parse_qsl(url.query)))
                    self._send(status, "" if status == 302 else where, where if status == 302 else None)
                else:
                    self._send(404, {"ok": False, "error": "unknown_method"})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = dict(parse_qsl(self.rfile.read(length).decode()))
                if urlparse(self.path).path == "/api/openid.connect.token":
                    self._send(*mock.token(form))
                else:
                    self._send(404, {"ok": False, "error": "unknown_method"})

        return Handler


@dataclass
class Users:
    """The test workspace's people, by role they will get in the console."""

    team: str = "TVENDOR1"
    people: dict[str, TestUser] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.people = {
            "admin": TestUser("UADMIN01", self.team, "ada@vendor.example", "Ada Admin"),
            "reviewer": TestUser("UREVIEW1", self.team, "rita@vendor.example", "Rita Reviewer"),
            "viewer": TestUser("UVIEWER1", self.team, "victor@vendor.example", "Victor Viewer"),
            "outsider": TestUser("UOUTSID1", "TOTHER99", "olga@other.example", "Olga Outsider"),
        }
