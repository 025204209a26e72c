"""bot/billing/api/threaded.py: a plain ``def`` route behind ``threaded.router()`` still runs in a
worker thread (two slow requests are served at once, the event loop is never blocked) and still
gets FastAPI's parameters, response model and documentation."""

from __future__ import annotations

import asyncio
import threading

import httpx
from fastapi import FastAPI
from pydantic import BaseModel

from bot.billing.api import threaded


class Out(BaseModel):
    n: int


def app_with_slow_route() -> FastAPI:
    router = threaded.router(prefix="/v1")
    both_in = threading.Barrier(2, timeout=5)  # passes only when two requests run at the same time

    @router.get("/slow", response_model=Out)
    def slow(n: int) -> Out:
        """Waits for a second request."""
        both_in.wait()
        return Out(n=n)

    @router.get("/wrong", response_model=Out)
    def wrong() -> dict[str, str]:
        return {"n": "not a number"}

    app = FastAPI()
    app.include_router(router)
    return app


def test_two_slow_requests_are_served_at_once_each_in_a_thread():
    app = app_with_slow_route()

    async def both() -> list[httpx.Response]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://billing") as client:
            return await asyncio.gather(client.get("/v1/slow", params={"n": 1}), client.get("/v1/slow?n=2"))

    first, second = asyncio.run(asyncio.wait_for(both(), timeout=10))
    assert (first.status_code, first.json(), second.json()) == (200, {"n": 1}, {"n": 2})


def test_parameters_answers_and_docs_are_fastapis_as_for_any_route():
    app = app_with_slow_route()
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)

    async def ask(path: str) -> httpx.Response:
        async with httpx.AsyncClient(transport=transport, base_url="http://billing") as client:
            return await client.get(path)

    assert asyncio.run(ask("/v1/slow?n=x")).status_code == 422  # the query parameter is checked
    assert asyncio.run(ask("/v1/wrong")).status_code == 500  # an answer that is not the model is refused
    operation = app.openapi()["paths"]["/v1/slow"]["get"]
    assert operation["description"] == "Waits for a second request."
    assert [p["name"] for p in operation["parameters"]] == ["n"]
    answer = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert answer == {"$ref": "#/components/schemas/Out"}
