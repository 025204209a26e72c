"""Slack's Socket Mode end, on loopback: a WebSocket server in its own thread and event loop."""

from __future__ import annotations

import json
import threading
import time
import uuid
from typing import Any


class SocketModeServer:
    """Slack's Socket Mode end: a WebSocket server on loopback (its own thread and event loop).
    ``send`` pushes an envelope to the connected app; ``acks`` collects the envelope ids it acked."""

    def __init__(self) -> None:
        import asyncio

        self._asyncio = asyncio
        self.loop = asyncio.new_event_loop()
        self.acks: list[dict[str, Any]] = []
        self.connected = threading.Event()
        self._sockets: list[Any] = []
        self._changed = threading.Condition()
        self.port = 0
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/link"

    def _run(self, coro: Any, timeout: float = 10.0) -> Any:
        return self._asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def start(self) -> SocketModeServer:
        from aiohttp import web

        async def link(request: web.Request) -> web.WebSocketResponse:
            ws = web.WebSocketResponse(autoping=True)
            await ws.prepare(request)
            self._sockets.append(ws)
            await ws.send_str(
                json.dumps({"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0001"}})
            )
            self.connected.set()
            async for message in ws:
                if message.type.name == "TEXT":
                    with self._changed:
                        self.acks.append(json.loads(message.data))
                        self._changed.notify_all()
            return ws

        async def serve() -> None:
            app = web.Application()
            app.router.add_get("/link", link)
            self._runner = web.AppRunner(app)
            await self._runner.setup()
            site = web.TCPSite(self._runner, "127.0.0.1", 0)
            await site.start()
            self.port = site._server.sockets[0].getsockname()[1]

        self._thread.start()
        self._run(serve())
        return self

    def send(self, payload: dict[str, Any], kind: str = "events_api") -> str:
        """Push one envelope to the app; its envelope_id."""
        envelope_id = uuid.uuid4().hex
        envelope = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": kind != "events_api",
            "retry_attempt": 0,
            "retry_reason": "",
        }

        async def push() -> None:
            for ws in self._sockets:
                if not ws.closed:
                    await ws.send_str(json.dumps(envelope))

        self._run(push())
        return envelope_id

    def wait_ack(self, envelope_id: str, timeout: float = 10.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for ack in self.acks:
                    if ack.get("envelope_id") == envelope_id:
                        return ack
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"envelope {envelope_id} not acked; acks: {self.acks}")
                self._changed.wait(left)

    def stop(self) -> None:
        async def close() -> None:
            for ws in self._sockets:
                await ws.close()
            await self._runner.cleanup()

        try:
            self._run(close())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout=5)
