"""Who the production stack's processes log in to Redis as (``ProdStack``, ``make run-prod``).

Production requires Redis AUTH (issue 17): Rasa's lock store and the gateways' fan-out log in with
a password. A Redis URL with a password in it (a Redis that has AUTH, as in a deployment) is that
account, used as it is. This machine's Redis has no password (it serves other programs on loopback),
so that the stack still runs its production configuration with a password, ``RedisAccount`` then
creates a Redis ACL user of its own with a random password while the stack runs:

    ACL SETUSER <prefix>-<random> reset on ><password> ~<prefix>:* &<prefix>:* +@all -@dangerous

It may touch only the stack's keys (Rasa's locks) and channels (the fan-out), and none of the
commands Redis counts as dangerous (FLUSHALL, KEYS, CONFIG, ACL, MONITOR, CLIENT KILL...). ``close``
removes the user, which also closes every connection logged in as it. A stack killed before
``close`` leaves its user behind until Redis restarts (ACL users are not saved): harmless, its
password was never written anywhere but the stack's process environment.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit, urlunsplit

# Prefixes become ACL glob patterns: no glob characters, so a prefix can't widen them.
PREFIX = re.compile(r"[A-Za-z0-9_.-]+")


@dataclass
class RedisAccount:
    url: str  # the Redis, as given (REDIS_URL): with credentials, or those of an administrator
    prefixes: tuple[str, ...]  # the account may use keys and channels "<prefix>:*"
    username: str = ""
    password: str = field(default="", repr=False)
    temporary: bool = False  # created by open(), removed by close()
    timeout_s: float = 3.0
    _created: bool = field(default=False, repr=False)

    @classmethod
    def for_url(cls, url: str, prefixes: tuple[str, ...]) -> RedisAccount:
        for prefix in prefixes:
            if not PREFIX.fullmatch(prefix):
                raise ValueError(f"Redis prefix {prefix!r}: letters, digits, '_', '.', '-' only")
        parts = urlsplit(url)
        if parts.password:
            return cls(url, prefixes, unquote(parts.username or ""), unquote(parts.password))
        return cls(url, prefixes, f"{prefixes[0]}-{secrets.token_hex(4)}", secrets.token_urlsafe(32), temporary=True)

    @property
    def address(self) -> str:
        """The URL without credentials (they go in settings of their own: URLs end up in logs)."""
        parts = urlsplit(self.url)
        host = parts.hostname or "127.0.0.1"
        netloc = f"[{host}]" if ":" in host else host
        if parts.port:
            netloc += f":{parts.port}"
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))

    def rules(self) -> list[str]:
        return [
            "reset",
            "on",
            f">{self.password}",
            *(f"~{p}:*" for p in self.prefixes),
            *(f"&{p}:*" for p in self.prefixes),
            "+@all",
            "-@dangerous",
        ]

    def _admin(self):
        import redis

        return redis.Redis.from_url(self.url, socket_timeout=self.timeout_s, socket_connect_timeout=self.timeout_s)

    def open(self) -> RedisAccount:
        """Create the temporary user (nothing to do for an account given in the URL)."""
        if not self.temporary or self._created:
            return self
        import redis

        admin = self._admin()
        try:
            admin.execute_command("ACL", "SETUSER", self.username, *self.rules())
        except redis.ResponseError as exc:
            raise RuntimeError(
                f"could not create the Redis user {self.username} at {self.address} ({exc}): "
                "Redis 6 or later lets REDIS_URL's user create it; or put a password in "
                "REDIS_URL (redis://user:password@host:port/db)"
            ) from None
        finally:
            admin.close()
        self._created = True
        return self

    def close(self) -> None:
        """Remove the temporary user; its connections close with it."""
        if not self._created:
            return
        admin = self._admin()
        try:
            admin.execute_command("ACL", "DELUSER", self.username)
            self._created = False
        finally:
            admin.close()

    def __enter__(self) -> RedisAccount:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()
