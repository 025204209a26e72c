"""The gateway's ASGI app: shared services in one ``Gateway`` object, and each channel's routes.

A channel is a sub-package (``slack``, ``widget``, ``handoff``) with ``mount(app, gw)``: it adds its routes and
may append coroutines to ``gw.on_startup`` / ``gw.on_shutdown`` (e.g. a Socket Mode client).
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from fastapi import FastAPI

from bot.billing_client import BillingClient

from .config import GatewaySettings, get_settings
from .rasa import Rasa
from .ratings import Ratings
from .request_context import RequestIds
from .state import GatewayState

if TYPE_CHECKING:
    from .widget.history import Row

log = logging.getLogger(__name__)

# (sender, text) -> True when the turn was taken from the bot (a rep has the conversation)
WidgetDiverter = Callable[[str, str], Awaitable[bool]]


class WidgetHistory(Protocol):
    async def after(self, sender: str, after: int = 0) -> list[Row]: ...


class WidgetConversations(Protocol):
    """What other parts of the gateway (the handoff bridge) may do with widget conversations: the
    widget's ``Hub``."""

    @property
    def history(self) -> WidgetHistory:
        """The messages shown so far (the bridge reads a pressed button's title there)."""
        ...

    @property
    def diverters(self) -> list[WidgetDiverter]:
        """Asked before each turn goes to Rasa."""
        ...

    async def offer_rating(self, sender: str, task: str, customer: str | None = None) -> None:
        """A rating offer outside a turn (ratings.py), unless this session had one."""
        ...

    async def push(self, sender: str, text: str, *, author: str = "agent", name: str | None = None) -> Row:
        """A person's (or the bot's own) message into a conversation, outside Rasa."""
        ...


@dataclass
class Gateway:
    settings: GatewaySettings
    rasa: Rasa
    state: GatewayState
    billing: BillingClient
    widget: WidgetConversations | None = None  # set by the widget channel
    ratings: Ratings = field(init=False)  # in the gateway's database (ratings.py)
    on_startup: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    on_shutdown: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.ratings = Ratings(self.state.engine)

    @classmethod
    def from_settings(cls, settings: GatewaySettings) -> Gateway:
        return cls(
            settings=settings,
            rasa=Rasa(settings.rasa_webhook_url, settings.gateway_token, timeout=settings.rasa_timeout_s),
            state=GatewayState(settings.gateway_database_url),
            billing=BillingClient(settings.billing_url, settings.billing_gateway_token),
        )

    async def aclose(self) -> None:
        await self.rasa.aclose()
        await self.billing.aclose()
        self.state.dispose()


CHANNELS = ("slack", "widget", "handoff")  # handoff last: it hooks into the other two


def create_app(
    settings: GatewaySettings | None = None,
    gw: Gateway | None = None,
    channels: tuple[str, ...] = CHANNELS,
    *,
    trust_request_ids: bool = False,
) -> FastAPI:
    """``trust_request_ids``: reuse the ``X-Request-Id`` of incoming requests (behind the balancer,
    which sets it; request_context.py)."""
    gw = gw or Gateway.from_settings(settings or get_settings())

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        for start in gw.on_startup:
            await start()
        try:
            yield
        finally:
            for stop in reversed(gw.on_shutdown):
                try:
                    await stop()
                except Exception:
                    log.exception("gateway shutdown step failed")
            await gw.aclose()

    app = FastAPI(title="Account assistant gateway", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.gateway = gw
    app.add_middleware(RequestIds, trust_upstream=trust_request_ids)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    for name in channels:  # imported here: the channels import Gateway from this module
        importlib.import_module(f"{__package__}.{name}").mount(app, gw)
    from bot.privacy import api as privacy_api  # it imports the channels' tables

    privacy_api.mount(app, gw.settings, gw.state.engine)  # only with PRIVACY_ADMIN_TOKEN set
    return app
