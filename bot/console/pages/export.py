"""``GET /console/export``: the tables a staff member may download; ``GET /console/export/<table>.csv``
with the conversation filters: the rows as CSV, streamed (a year of messages never sits in memory),
and one staff-audit row with the table's name and the number of rows once the download ends.

A cell that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``, a tab or
a carriage return: a customer typed it) gets a leading ``'``, so opening the file runs nothing."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Iterator
from datetime import datetime

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, StreamingResponse

from ..auth.guard import Signed, ViewerDownload, ViewerPage, console_of
from ..data.api import Filters
from ..staff_audit import StaffAudit
from .filters import CHANNELS, OUTCOMES, PERIODS, RATINGS, filters_of

router = APIRouter(prefix="/console")
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    text = str(value)
    return "'" + text if text.startswith(_FORMULA) else text


def csv_lines(rows: Iterator[dict[str, object]], done: list[int]) -> Iterator[str]:
    """The CSV text, a line at a time; ``done[0]`` counts the rows written so far."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    header: list[str] | None = None
    for row in rows:
        if header is None:
            header = list(row)
            writer.writerow(header)
        writer.writerow([cell(row.get(name)) for name in header])
        done[0] += 1
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def _audited(rows: Iterator[str], audit: StaffAudit, who: Signed, table: str, done: list[int]) -> Iterator[str]:
    try:
        yield from rows
    finally:  # also when the browser stops the download: what was sent is what is recorded
        audit.record(who.member.user_id, "export_csv", email=who.member.email, object=table, count=done[0])


@router.get("/export", response_class=HTMLResponse)
async def tables(request: Request, who: ViewerPage) -> HTMLResponse:
    console = console_of(request)
    asked = filters_of(request.query_params)
    names = await asyncio.to_thread(console.queries.tables)
    return console.render(
        request,
        "export.html",
        who,
        tables=names,
        asked=asked,
        q=asked.query,
        periods=PERIODS,
        channels=CHANNELS,
        outcomes=OUTCOMES,
        ratings=RATINGS,
    )


@router.get("/export/{table}.csv")
async def export_csv(request: Request, table: str, who: ViewerDownload) -> StreamingResponse:
    console = console_of(request)
    filters: Filters = filters_of(request.query_params).filters
    if table not in await asyncio.to_thread(console.queries.tables):
        raise HTTPException(404, f"No table called {table!r} to export.")
    done = [0]

    def lines() -> Iterator[str]:  # runs in Starlette's worker thread, query included
        yield from _audited(csv_lines(console.queries.export(table, filters), done), console.audit, who, table, done)

    name = f"{table}-{filters.period.start}-{filters.period.end}.csv" if filters.period else f"{table}.csv"
    return StreamingResponse(
        lines(),  # a plain iterator: Starlette reads it in a worker thread, off the event loop
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )
