"""Staff, sessions and the staff audit on SQLite and PostgreSQL (a throw-away database; under CI=true
never skipped): roles at sign-in, a role change and what it refuses, sessions that end, and an audit
the database itself keeps append-only."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import create_engine, delete, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from bot.billing.adapters.db import normalise_url
from bot.console.auth.staff import BadRole, NoAccess, Staff, StaffMember, sessions
from bot.console.staff_audit import StaffAudit, staff_audit


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path) -> Iterator[Engine]:
    if request.param == "sqlite":
        made = create_engine(f"sqlite:///{tmp_path / 'console.sqlite3'}")
        yield made
        made.dispose()
        return
    from tests.conftest import _postgres_database

    urls = _postgres_database(os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    made = create_engine(normalise_url(next(urls)))
    yield made
    made.dispose()
    next(urls, None)


def test_roles_at_sign_in_and_their_changes(engine):
    staff = Staff(engine, admins={"uadmin01", "boss@vendor.example"}, default_role="viewer")
    admin = staff.signed_in("UADMIN01", "ada@vendor.example", "Ada")
    assert admin.role == "admin"
    assert staff.signed_in("UBOSS001", "Boss@Vendor.example", "Boss").role == "admin"  # by email
    assert staff.signed_in("UVIEW001", "vic@vendor.example", "Vic").role == "viewer"
    assert staff.set_role("UVIEW001", "reviewer", by=admin) == "viewer"
    assert staff.signed_in("UVIEW001", "vic@vendor.example", "Vic").role == "reviewer"  # kept at the next sign-in
    with pytest.raises(BadRole, match="only an admin"):
        staff.set_role("UBOSS001", "viewer", by=StaffMember("UVIEW001", None, None, "reviewer"))
    with pytest.raises(BadRole, match="CONSOLE_ADMINS"):
        staff.set_role("UBOSS001", "viewer", by=admin)
    with pytest.raises(BadRole, match="has signed in"):
        staff.set_role("UNOBODY1", "viewer", by=admin)
    sid, _ = staff.open_session("UVIEW001", hours=1)
    assert staff.session_member(sid).role == "reviewer"
    staff.set_role("UVIEW001", "none", by=admin)
    assert staff.session_member(sid) is None  # their sessions ended
    with pytest.raises(NoAccess):
        staff.signed_in("UVIEW001", "vic@vendor.example", "Vic")
    closed = Staff(engine, admins=set(), default_role="none")
    with pytest.raises(NoAccess):
        closed.signed_in("UNEW0001", "new@vendor.example", "New")


def test_sessions_expire_and_end(engine):
    staff = Staff(engine, admins={"uadmin01"}, default_role="viewer")
    staff.signed_in("UADMIN01", None, None)
    sid, _ = staff.open_session("UADMIN01", hours=1)
    old, _ = staff.open_session("UADMIN01", hours=1)
    with engine.begin() as conn:
        conn.execute(
            update(sessions)
            .where(sessions.c.id == old)
            .values(expires_at=datetime.now(timezone.utc) - timedelta(seconds=1))
        )
    assert staff.session_member(old) is None and staff.session_member(sid) is not None
    staff.close_session(sid)
    assert staff.session_member(sid) is None and staff.session_member("not-a-session") is None


def test_the_staff_audit_is_append_only(engine):
    audit = StaffAudit(engine)
    StaffAudit(engine)  # a second replica starting: the guards are created again, harmlessly
    audit.record("UADMIN01", "export_csv", email="ada@vendor.example", object="messages", count=12)
    [row] = audit.latest()
    assert (row["actor"], row["action"], row["object"], row["count"]) == ("UADMIN01", "export_csv", "messages", 12)
    assert row["at"].tzinfo is not None
    with pytest.raises(ValueError):
        audit.record("UADMIN01", "read_minds")
    for statement in (update(staff_audit).values(count=0), delete(staff_audit)):
        with pytest.raises(DBAPIError), engine.begin() as conn:
            conn.execute(statement)
    if engine.dialect.name != "sqlite":
        with pytest.raises(DBAPIError), engine.begin() as conn:
            conn.execute(text("TRUNCATE console_staff_audit"))
    assert len(audit.latest()) == 1
