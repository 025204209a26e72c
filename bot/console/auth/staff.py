"""Who may use the console, with which role, and their open sessions.

**Roles** (bot/console/config.py ROLES): a viewer sees the pages, transcripts and CSV downloads; a
reviewer also labels review lines and saves conversation tests; an admin also exports and erases a
customer's data and changes roles. **How a role is assigned**, at each sign-in:

1. a Slack user id or email listed in ``CONSOLE_ADMINS`` is an admin, whatever the table says (so
   the first admin exists before anyone can grant anything, and cannot be locked out by a mistake
   on the roles page);
2. otherwise the role an admin gave them on the roles page (the ``console_staff`` row);
3. otherwise, at their first sign-in, ``CONSOLE_DEFAULT_ROLE`` (viewer unless set; ``none`` refuses
   them until an admin grants a role).

Only members of the vendor's own workspace get this far (the ID token's team is checked first).
A role change takes effect on the person's next request: the role is read from the table on every
request, never kept in the cookie.

**Sessions** are rows here (a random id in the signed cookie points at one), so signing out ends a
session for good and an admin setting someone's role to ``none`` ends all of theirs.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import Column, DateTime, MetaData, String, Table, delete, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from bot.tables import create_tables

from ..config import ROLES

metadata = MetaData()
NO_ACCESS = "none"

staff = Table(
    "console_staff",
    metadata,
    Column("user_id", String(64), primary_key=True),  # Slack user id (the ID token's sub)
    Column("email", String(254)),
    Column("name", String(200)),
    Column("role", String(16), nullable=False),  # viewer, reviewer, admin, none
    Column("first_seen", DateTime(timezone=True), nullable=False),
    Column("last_seen", DateTime(timezone=True), nullable=False),
    Column("role_by", String(64)),  # who set the role last (None: the default at first sign-in)
)

sessions = Table(
    "console_sessions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("user_id", String(64), nullable=False, index=True),
    Column("expires_at", DateTime(timezone=True), nullable=False, index=True),
)


class NoAccess(PermissionError):
    """A member of the workspace without a role (CONSOLE_DEFAULT_ROLE=none, or an admin removed it)."""


class BadRole(ValueError):
    """A role change that cannot be made; the message says why; nothing was changed."""


@dataclass(frozen=True)
class StaffMember:
    user_id: str
    email: str | None
    name: str | None
    role: str

    def can(self, role: str) -> bool:
        """At least ``role``."""
        return self.role in ROLES and ROLES.index(self.role) >= ROLES.index(role)

    @property
    def label(self) -> str:
        return self.name or self.email or self.user_id


def _utc(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=timezone.utc)


class Staff:
    def __init__(self, engine: Engine, *, admins: set[str], default_role: str) -> None:
        if default_role not in (*ROLES, NO_ACCESS):
            raise ValueError(f"CONSOLE_DEFAULT_ROLE must be one of {', '.join((*ROLES, NO_ACCESS))}")
        self.engine = engine
        self.admins = {a.lower() for a in admins}
        self.default_role = default_role
        create_tables(engine, metadata)

    def _seeded_admin(self, user_id: str, email: str | None) -> bool:
        return user_id.lower() in self.admins or (email or "").lower() in self.admins

    def signed_in(self, user_id: str, email: str | None, name: str | None) -> StaffMember:
        """Record a sign-in; the member with their role. ``NoAccess`` when they have none."""
        now = datetime.now(timezone.utc)
        with self.engine.begin() as conn:
            row = conn.execute(select(staff).where(staff.c.user_id == user_id)).first()
            role = row.role if row is not None else self.default_role
            if self._seeded_admin(user_id, email):
                role = "admin"
            values = {"email": email, "name": name, "role": role, "last_seen": now}
            if row is None:
                try:
                    conn.execute(insert(staff).values(user_id=user_id, first_seen=now, **values))
                except IntegrityError:  # the same person signing in twice at once: the other row stands
                    pass
            else:
                conn.execute(update(staff).where(staff.c.user_id == user_id).values(**values))
        if role == NO_ACCESS:
            raise NoAccess(user_id)
        return StaffMember(user_id, email, name, role)

    def dev_member(self, member: StaffMember) -> None:
        """make run's development sign-in (sessions.py DevLink): that member, with that role."""
        now = datetime.now(timezone.utc)
        values = {"email": member.email, "name": member.name, "role": member.role, "last_seen": now}
        with self.engine.begin() as conn:
            if conn.execute(update(staff).where(staff.c.user_id == member.user_id).values(**values)).rowcount == 0:
                conn.execute(insert(staff).values(user_id=member.user_id, first_seen=now, **values))

    def member(self, user_id: str) -> StaffMember | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(staff).where(staff.c.user_id == user_id)).first()
        if row is None or row.role == NO_ACCESS:
            return None
        return StaffMember(row.user_id, row.email, row.name, row.role)

    def everyone(self) -> list[dict[str, object]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(staff).order_by(staff.c.last_seen.desc())).all()
        return [
            {
                **row._mapping,
                "seeded_admin": self._seeded_admin(row.user_id, row.email),
                "last_seen": _utc(row.last_seen),
            }
            for row in rows
        ]

    def set_role(self, user_id: str, role: str, *, by: StaffMember) -> str:
        """An admin sets someone's role; the role it replaced. ``none`` also ends their sessions."""
        if not by.can("admin"):
            raise BadRole("only an admin can change roles")
        if role not in (*ROLES, NO_ACCESS):
            raise BadRole(f"unknown role {role!r}: choose one of {', '.join((*ROLES, NO_ACCESS))}")
        if user_id == by.user_id:
            raise BadRole("you cannot change your own role; ask another admin")
        with self.engine.begin() as conn:
            row = conn.execute(select(staff).where(staff.c.user_id == user_id)).first()
            if row is None:
                raise BadRole("nobody with that id has signed in to the console")
            if self._seeded_admin(row.user_id, row.email) and role != "admin":
                raise BadRole("this person is listed in CONSOLE_ADMINS: remove them there first")
            conn.execute(update(staff).where(staff.c.user_id == user_id).values(role=role, role_by=by.user_id))
            if role == NO_ACCESS:
                conn.execute(delete(sessions).where(sessions.c.user_id == user_id))
        return str(row.role)

    # -- sessions ---------------------------------------------------------------------------------------

    def open_session(self, user_id: str, hours: float) -> tuple[str, datetime]:
        sid = secrets.token_urlsafe(32)
        now = datetime.now(timezone.utc)
        expires = now + timedelta(hours=hours)
        with self.engine.begin() as conn:
            conn.execute(delete(sessions).where(sessions.c.expires_at < now))
            conn.execute(insert(sessions).values(id=sid, user_id=user_id, expires_at=expires))
        return sid, expires

    def session_member(self, sid: str) -> StaffMember | None:
        """The member of an open, unexpired session with a role, or None."""
        with self.engine.connect() as conn:
            row = conn.execute(select(sessions).where(sessions.c.id == sid)).first()
        if row is None or _utc(row.expires_at) <= datetime.now(timezone.utc):
            return None
        return self.member(row.user_id)

    def close_session(self, sid: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(sessions).where(sessions.c.id == sid))
