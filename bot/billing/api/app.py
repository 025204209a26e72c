"""The billing backend's HTTP API (FastAPI): /v1, with OpenAPI at /docs."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError

from bot.nlu.cards import redact
from bot.settings_check import in_production

from ..adapters.db import Database
from ..clock import Clock, clock_from_settings
from ..config import get_settings
from ..domain.errors import BillingError
from ..metrics import ERRORS
from .callers import load_callers
from .observability import Observed
from .routes import account, card_page, catalog, console, invoices, orders, people, slack

log = logging.getLogger("billing.api")


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def create_app(db: Database | None = None, *, docs: bool | None = None, clock: Clock | None = None) -> FastAPI:
    """The API; ``docs``: serve /docs and /openapi.json (default: in development only, so production
    does not hand its whole surface to whoever reaches it). The clock (bot/billing/clock.py) is the
    database's: ``clock`` replaces it; without a ``db`` the settings' (BILLING_NOW in development)."""
    docs = not in_production() if docs is None else docs
    app = FastAPI(
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
        openapi_url="/openapi.json" if docs else None,
        title="Account assistant billing API",
        version="1.0.0",
        description="System of record for the account assistant: catalog, contracts, quotes, orders, "
        "invoices, payments, support cases and handoffs. Each calling service sends its own "
        "token (`Authorization: Bearer ...`), which decides what it may do; the acting user's "
        "email in `X-Acting-User`, the channel in `X-Channel`, and for a Slack identity the "
        "Slack team it was verified in (`X-Slack-Team`).",
    )
    app.state.callers = load_callers(get_settings())  # refuses to start on missing or shared tokens
    if db is None:
        db = Database.connect(get_settings().database_url, clock=clock or clock_from_settings(get_settings()))
    elif clock is not None:
        db.clock = clock
    app.state.db = db
    app.add_middleware(Observed)

    @app.exception_handler(BillingError)
    async def billing_error(_request: Request, exc: BillingError) -> JSONResponse:
        # A message may quote what the caller sent (an invoice number, an address): never a card.
        ERRORS.labels(exc.code).inc()
        return JSONResponse(error_body(exc.code, redact(exc.message)[0], exc.details), status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        fields = {}
        for err in exc.errors():
            loc = [str(p) for p in err["loc"] if p not in ("body", "query", "path", "header")]
            fields[".".join(loc) or "body"] = err["msg"]
        ERRORS.labels("invalid").inc()
        return JSONResponse(
            error_body("invalid", "Some fields are not valid; nothing was changed.", {"fields": fields}),
            status_code=422,
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        ERRORS.labels("internal").inc()
        return JSONResponse(
            error_body("internal", "Something went wrong on our side; nothing was changed."), status_code=500
        )

    @app.exception_handler(DBAPIError)
    async def database_error(request: Request, exc: DBAPIError) -> JSONResponse:
        if not exc.connection_invalidated:
            return await unexpected(request, exc)
        # The database dropped the connection mid-request (a restart, a failover): 503, which the
        # billing client retries for reads and keyed writes (orders, payments), and only for those.
        log.warning("database connection lost on %s %s", request.method, request.url.path)
        ERRORS.labels("database_unavailable").inc()
        return JSONResponse(
            error_body("database_unavailable", "Billing's database was briefly unreachable."), status_code=503
        )

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, bool]:  # no thread needed
        return {"ok": True}

    for module in (catalog, account, orders, invoices, people, slack, card_page, console):
        app.include_router(module.router)
    return app
