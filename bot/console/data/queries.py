"""What the console's pages ask (api.py's ``ConsoleQueries``), answered from the index alone, each
with an index of tables.py: the overview adds up ``console_days`` (one row per conversation and
day) and the copies of handoffs, ratings and orders by their day; a search filters
``console_conversations``; a transcript reads one conversation's rows by its sender id."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.engine import Engine, RowMapping

from .api import (
    Channel,
    ConversationRow,
    DayFigures,
    Filters,
    Money,
    Overview,
    Page,
    Period,
    Transcript,
    TranscriptLine,
)
from .export import TABLES, export_rows
from .reasons import DEFINITIONS
from .store import aware, bounds
from .tables import conversations, create, days, handoffs, lines, messages, orders, ratings

MAX_LIMIT = 500
MAX_DAYS = 366


def check_period(period: Period) -> None:
    if period.end < period.start:
        raise ValueError("the period ends before it starts")
    if (period.end - period.start).days >= MAX_DAYS:
        raise ValueError(f"a period of at most {MAX_DAYS} days")


def conversation_filter(filters: Filters) -> list[ColumnElement[bool]]:
    """The conditions on console_conversations that ``filters`` name (a search and the exports)."""
    c = conversations.c
    where: list[ColumnElement[bool]] = []
    if filters.period is not None:
        check_period(filters.period)
        start, after = bounds(filters.period)
        where += [c.last_at >= start, c.started_at < after]
    if filters.channel:
        where.append(c.channel == filters.channel)
    if filters.org:
        org = filters.org.strip()
        where.append(or_(c.org == org, func.lower(c.org_name).contains(org.lower(), autoescape=True)))
    if filters.customer:
        where.append(func.lower(c.customer).contains(filters.customer.strip().lower(), autoescape=True))
    if filters.intent:
        said = select(messages.c.sender).where(messages.c.intent == filters.intent.strip())
        if filters.period is not None:
            start, after = bounds(filters.period)
            said = said.where(messages.c.at >= start, messages.c.at < after)
        where.append(c.sender.in_(said))
    if filters.outcome:
        where.append(c.outcome == filters.outcome)
    if filters.rating:
        where.append(c.rating == filters.rating)
    return where


def conversation_row(m: RowMapping) -> ConversationRow:
    revenue = Money(int(m["revenue_minor"]), m["currency"]) if m["currency"] and m["revenue_minor"] else None
    return ConversationRow(
        sender=m["sender"],
        channel=m["channel"],
        customer=m["customer"],
        org=m["org"],
        org_name=m["org_name"],
        started_at=aware(m["started_at"]),
        last_at=aware(m["last_at"]),
        turns=int(m["turns"]),
        fallbacks=int(m["fallbacks"]),
        tasks=(m["task_names"] or "").split(),
        outcome=m["outcome"],
        handoff=m["handoff"],
        rating=m["rating"],
        revenue=revenue,
    )


class Queries:
    def __init__(self, console_engine: Engine) -> None:
        self.engine = console_engine
        create(console_engine)

    # -- overview ----------------------------------------------------------------------------------

    def overview(self, period: Period, channel: Channel | None = None) -> Overview:
        check_period(period)
        d, h, r, o = days.c, handoffs.c, ratings.c, orders.c
        in_days = [d.day >= period.start, d.day <= period.end] + ([d.channel == channel] if channel else [])
        in_h = [h.day >= period.start, h.day <= period.end] + ([h.channel == channel] if channel else [])
        in_r = [r.day >= period.start, r.day <= period.end, r.state.in_(("helpful", "not_helpful"))]
        in_r += [r.channel == channel] if channel else []
        in_o = [o.day >= period.start, o.day <= period.end, o.total_minor.is_not(None)]
        in_o += [o.channel == channel] if channel else []
        spoke = d.turns > 0
        # one row per conversation (and channel) over the period: a conversation is counted once
        per = (
            select(
                d.channel,
                func.sum(d.turns).label("turns"),
                func.sum(d.fallbacks).label("fallbacks"),
                func.sum(d.in_scope).label("scope"),
                func.sum(d.tasks).label("tasks"),
                func.sum(d.handoffs).label("handed"),
            )
            .where(*in_days)
            .group_by(d.sender, d.channel)
            .subquery()
        )
        talked = per.c.turns > 0
        contained_day = and_(d.in_scope > 0, d.tasks > 0, d.handoffs == 0, spoke)
        with self.engine.connect() as conn:
            by_channel: dict[str, int] = {}
            totals = [0, 0, 0, 0, 0]  # conversations, in scope, contained, turns, fallback turns
            for row in conn.execute(
                select(
                    per.c.channel,
                    func.count(case((talked, 1))),
                    func.count(case((and_(talked, per.c.scope > 0), 1))),
                    func.count(case((and_(talked, per.c.scope > 0, per.c.tasks > 0, per.c.handed == 0), 1))),
                    func.coalesce(func.sum(per.c.turns), 0),
                    func.coalesce(func.sum(per.c.fallbacks), 0),
                ).group_by(per.c.channel)
            ):
                if row[1]:
                    by_channel[str(row[0])] = int(row[1])
                totals = [t + int(v or 0) for t, v in zip(totals, row[1:], strict=True)]
            handed = conn.execute(
                select(func.count(), func.count(h.claimed_at), func.count(h.closed_at)).where(*in_h)
            ).one()
            rated: dict[str, int] = dict(
                conn.execute(select(r.state, func.count()).where(*in_r).group_by(r.state)).all()
            )
            placed = conn.execute(select(func.count()).where(*in_o)).scalar_one()
            revenue = conn.execute(
                select(o.currency, func.sum(o.total_minor)).where(*in_o, o.currency.is_not(None)).group_by(o.currency)
            ).all()
            series: dict[date, DayFigures] = {}
            day = period.start
            while day <= period.end:
                series[day] = DayFigures(day)
                day += timedelta(days=1)
            for row in conn.execute(
                select(
                    d.day,
                    func.count(case((spoke, 1))),
                    func.count(case((and_(d.in_scope > 0, spoke), 1))),
                    func.count(case((contained_day, 1))),
                    func.sum(d.handoffs),
                    func.sum(d.fallbacks),
                )
                .where(*in_days)
                .group_by(d.day)
            ):
                fig = series[_date(row[0])]
                fig.conversations, fig.in_scope, fig.contained = int(row[1]), int(row[2]), int(row[3])
                fig.handoffs, fig.fallbacks = int(row[4] or 0), int(row[5] or 0)
            for row in conn.execute(select(r.day, r.state, func.count()).where(*in_r).group_by(r.day, r.state)):
                setattr(series[_date(row[0])], str(row[1]), int(row[2]))
            for row in conn.execute(select(o.day, func.count()).where(*in_o).group_by(o.day)):
                series[_date(row[0])].orders = int(row[1])
        return Overview(
            period=period,
            channel=channel,
            conversations=totals[0],
            in_scope=totals[1],
            contained=totals[2],
            handoffs=int(handed[0]),
            handoffs_answered=int(handed[1]),
            handoffs_closed=int(handed[2]),
            fallback_turns=totals[4],
            turns=totals[3],
            helpful=int(rated.get("helpful", 0)),
            not_helpful=int(rated.get("not_helpful", 0)),
            orders=int(placed),
            revenue=[Money(int(row[1]), str(row[0])) for row in sorted(revenue, key=lambda row: str(row[0]))],
            by_channel=dict(sorted(by_channel.items())),
            days=list(series.values()),
            definitions=dict(DEFINITIONS),
        )

    # -- conversations ----------------------------------------------------------------------------------

    def search(self, filters: Filters, offset: int = 0, limit: int = 50) -> Page:
        if not 1 <= limit <= MAX_LIMIT:
            raise ValueError(f"limit: 1 to {MAX_LIMIT}")
        if offset < 0:
            raise ValueError("offset: 0 or more")
        where = conversation_filter(filters)
        c = conversations.c
        with self.engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(conversations).where(*where)).scalar_one()
            rows = conn.execute(
                select(conversations)
                .where(*where)
                .order_by(c.last_at.desc(), c.sender.desc())
                .offset(offset)
                .limit(limit)
            ).all()
        return Page([conversation_row(r._mapping) for r in rows], int(total), offset, limit)

    def transcript(self, sender: str) -> Transcript | None:
        with self.engine.connect() as conn:
            found = conn.execute(select(conversations).where(conversations.c.sender == sender)).first()
            if found is None:
                return None
            said = conn.execute(
                select(messages).where(messages.c.sender == sender).order_by(messages.c.at, messages.c.id)
            )
            shown = conn.execute(select(lines).where(lines.c.sender == sender).order_by(lines.c.at, lines.c.id))
            handed = conn.execute(select(handoffs).where(handoffs.c.sender == sender)).all()
            rated = conn.execute(select(ratings).where(ratings.c.sender == sender)).all()
            out: list[tuple[datetime, int, TranscriptLine]] = []
            for m in said:
                at = aware(m.at)
                out.append((at, m.event_id, TranscriptLine(at, "customer", m.text, m.intent, m.confidence)))
            for line in shown:
                at = aware(line.at)
                titles = [str(t) for t, _ in json.loads(line.buttons or "[]")]
                out.append((at, line.event_id, TranscriptLine(at, line.author, line.text, buttons=titles)))
        for h in handed:
            for at, text in _handoff_lines(h._mapping):
                out.append((at, 0, TranscriptLine(at, "system", text)))
        for r in rated:
            at = aware(r.answered_at or r.offered_at)
            out.append((at, 0, TranscriptLine(at, "system", _rating_line(r._mapping))))
        out.sort(key=lambda item: (item[0], item[1]))
        return Transcript(conversation_row(found._mapping), [line for _, _, line in out])

    # -- exports ----------------------------------------------------------------------------------------

    def tables(self) -> list[str]:
        return list(TABLES)

    def export(self, table: str, filters: Filters) -> Iterator[dict[str, object]]:
        if table not in TABLES:
            raise KeyError(table)
        return export_rows(self.engine, table, filters, conversation_filter(filters))


def _date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _handoff_lines(h: RowMapping) -> list[tuple[datetime, str]]:
    said = [(aware(h["created_at"]), f"Handoff {h['number']} to {h['queue']} opened")]
    if h["claimed_at"] is not None:
        said.append((aware(h["claimed_at"]), f"Handoff {h['number']} claimed by {h['claimed_by'] or 'a rep'}"))
    if h["closed_at"] is not None:
        said.append((aware(h["closed_at"]), f"Handoff {h['number']} closed"))
    return said


def _rating_line(r: RowMapping) -> str:
    what = {"helpful": "rated helpful", "not_helpful": "rated not helpful", "dismissed": "rating dismissed"}
    text = f"Rating of {r['task'].replace('_', ' ')}: {what.get(r['state'], 'offered, not answered')}"
    return f"{text}. Comment: {r['comment']}" if r["comment"] else text
