"""Routers whose plain ``def`` routes (they use the database, which blocks) cost one hand-off to a
worker thread per request, not two.

FastAPI runs a plain ``def`` route in its thread pool, and then checks what it returned against the
response model in the thread pool too: two hand-offs to a worker thread and back, each a few
wake-ups of the event loop. ``ThreadedRoute`` gives FastAPI a coroutine that awaits the same
function in the same thread pool (``run_in_threadpool``: the same threads, limit and context
variables), so the answer is checked on the event loop: for a model the route has just built, an
``isinstance`` check. What the route does, and where, is unchanged."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool


def in_threadpool(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """A coroutine function with ``endpoint``'s signature (FastAPI reads it through ``__wrapped__``)
    that runs ``endpoint`` in the thread pool; a coroutine function is returned as it is."""
    if inspect.iscoroutinefunction(endpoint):
        return endpoint

    @functools.wraps(endpoint)
    async def threaded(**kwargs: Any) -> Any:
        return await run_in_threadpool(endpoint, **kwargs)

    return threaded


class ThreadedRoute(APIRoute):
    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, in_threadpool(endpoint), **kwargs)


def router(**kwargs: Any) -> APIRouter:
    """An ``APIRouter`` (same arguments) whose routes are ``ThreadedRoute``\\ s."""
    return APIRouter(route_class=ThreadedRoute, **kwargs)
