"""The console's ASGI app: everything under ``/console``, one ``Console`` object with its services.

Pages are server-rendered (Jinja2, templates/), with a little CSS (static/) and charts drawn as
inline SVG on the server (pages/charts.py): nothing is fetched from anywhere else, so the console
works on a network with no way out. The data layer (bot/console/data) is synchronous SQLAlchemy:
pages call it through ``asyncio.to_thread``. The indexer runs in the background every
``CONSOLE_INDEX_INTERVAL_S``, never on a request's path.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.engine import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException

from bot.billing.adapters.db import normalise_url
from bot.gateway.config import tracker_url
from bot.gateway.state import _engine
from bot.settings_check import in_production

from .auth import routes as auth_routes
from .auth.guard import Signed, SignInFirst
from .auth.oidc import Provider
from .auth.sessions import DevLink, SessionCookie
from .auth.staff import Staff
from .config import ConsoleSettings, get_settings
from .data.api import ConsoleQueries, ReviewInbox
from .pages import mount_pages
from .pages.privacy import PrivacyClient
from .staff_audit import StaffAudit

log = logging.getLogger("bot.console")
HERE = Path(__file__).resolve().parent


class Indexing(Protocol):
    def run_all(self, batch: int = 5000) -> int: ...


def engine_for(url: str) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    return _engine(url)


@dataclass
class Console:
    settings: ConsoleSettings
    engine: Engine  # the console's own database
    queries: ConsoleQueries
    review: ReviewInbox
    indexer: Indexing | None = None
    dev_token: str = ""  # make run's one-time sign-in link (sessions.py DevLink)
    staff: Staff = field(init=False)
    audit: StaffAudit = field(init=False)
    cookie: SessionCookie = field(init=False)
    provider: Provider = field(init=False)
    dev_link: DevLink | None = field(init=False)
    privacy: PrivacyClient = field(init=False)
    templates: Environment = field(init=False)
    engines: list[Engine] = field(default_factory=list)  # disposed with the console

    def __post_init__(self) -> None:
        s = self.settings
        self.staff = Staff(self.engine, admins=s.admins, default_role=s.console_default_role)
        self.audit = StaffAudit(self.engine)
        # Secure whenever staff reach it over https, which production requires off this machine (__main__.py)
        self.cookie = SessionCookie(s.console_session_key, secure=s.secure_cookies)
        self.provider = Provider(
            s.console_oidc_issuer,
            s.console_oidc_client_id,
            s.console_oidc_client_secret,
            team=s.console_slack_team,
            redirect_uri=s.console_public_url.rstrip("/") + "/console/auth/callback",
            timeout=s.console_oidc_timeout_s,
        )
        dev = self.dev_token and not in_production()
        self.dev_link = DevLink(self.dev_token, s.console_dev_link_minutes) if dev else None
        self.privacy = PrivacyClient(s.gateway_url, s.privacy_admin_token, timeout=s.privacy_timeout_s)
        self.templates = Environment(
            loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]), trim_blocks=True
        )

    @classmethod
    def from_settings(cls, settings: ConsoleSettings, *, dev_token: str = "") -> Console:
        """The real data layer on the configured databases (the indexer reads Rasa's tracker store
        and the gateway's tables, read only; billing through its console token)."""
        from .data.billing import ConsoleBilling
        from .data.index import Indexer
        from .data.queries import Queries
        from .data.review import Review
        from .data.tables import create

        engine = engine_for(settings.console_database_url)
        create(engine)
        tracker = tracker_url(settings)
        tracker_engine = engine_for(tracker) if tracker else None
        gateway_engine = engine_for(settings.gateway_database_url)
        billing = ConsoleBilling(settings.billing_url, settings.billing_console_token)
        review = Review(
            engine,
            reviewed_file=settings.console_reviewed_file,
            tests_dir=settings.console_tests_dir,
            domain_dir=settings.console_domain_dir,
            tracker_engine=tracker_engine,  # a saved test is the conversation as Rasa stored it
        )
        return cls(
            settings,
            engine,
            Queries(engine),
            review,
            Indexer(engine, tracker_engine, gateway_engine, billing=billing),
            dev_token=dev_token,
            engines=[e for e in (engine, tracker_engine, gateway_engine) if e is not None],
        )

    def render(
        self, request: Request, template: str, who: Signed | None, *, status: int = 200, **context: Any
    ) -> HTMLResponse:
        html = self.templates.get_template(template).render(
            request=request, who=who, member=who.member if who else None, csrf=who.csrf if who else "", **context
        )
        return HTMLResponse(html, status_code=status)

    async def index_forever(self) -> None:
        """The background indexer: runs until caught up, then a pause, for ever (after a stop or a
        burst it catches up at once instead of one batch an interval); a failed run is logged and
        retried."""
        if self.indexer is None or self.settings.console_index_interval_s <= 0:
            return
        indexer = self.indexer
        while True:
            try:
                await asyncio.to_thread(indexer.run_all)
            except Exception:
                log.exception("console indexer run failed; retrying after the interval")
            await asyncio.sleep(self.settings.console_index_interval_s)

    def dispose(self) -> None:
        for engine in {id(e): e for e in [self.engine, *self.engines]}.values():
            engine.dispose()


def create_app(console: Console | None = None, *, settings: ConsoleSettings | None = None) -> FastAPI:
    console = console or Console.from_settings(settings or get_settings())

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        indexing = asyncio.create_task(console.index_forever())
        try:
            yield
        finally:
            indexing.cancel()
            with suppress(asyncio.CancelledError):
                await indexing
            await console.privacy.aclose()
            console.dispose()

    app = FastAPI(title="Staff console", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.console = console

    @app.exception_handler(SignInFirst)
    async def sign_in_first(_request: Request, exc: SignInFirst) -> Response:
        return RedirectResponse(exc.location, status_code=303)

    @app.exception_handler(StarletteHTTPException)
    async def problem(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404 and not request.url.path.startswith("/console"):
            return HTMLResponse("Not found", status_code=404)
        response = console.render(request, "problem.html", None, status=exc.status_code, detail=exc.detail)
        response.headers.update(exc.headers or {})
        return response

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    app.mount("/console/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(auth_routes.router)
    mount_pages(app)
    return app
