"""A webhook endpoint on 127.0.0.1 for the event tests: a stdlib server in a thread (it
serves the in-process dispatcher and a host subprocess alike), recording every delivery,
scriptable to fail, to answer slowly, or to hold requests until the test lets them go."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Delivery:
    headers: dict[str, str]
    body: bytes
    status: int  # what the receiver answered
    at: float

    @property
    def event(self) -> dict[str, Any]:
        return json.loads(self.body)


@dataclass
class Receiver:
    fail_first: int = 0  # answer 500 to this many requests first
    delay: float = 0.0  # seconds before answering
    failing: bool = False  # answer 500 until switched off
    deliveries: list[Delivery] = field(default_factory=list)
    released: threading.Event = field(default_factory=threading.Event)
    hold: bool = False  # keep each request until `released` is set
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_port}/hook"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if receiver.hold:
                    receiver.released.wait(60)
                if receiver.delay:
                    time.sleep(receiver.delay)
                with receiver._lock:
                    answered = sum(1 for d in receiver.deliveries)
                    status = 500 if receiver.failing or answered < receiver.fail_first else 200
                    receiver.deliveries.append(
                        Delivery(dict(self.headers), body, status, time.monotonic())
                    )
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.released.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def accepted(self) -> list[dict[str, Any]]:
        """The events answered 200, in arrival order."""
        with self._lock:
            return [d.event for d in self.deliveries if d.status == 200]

    async def wait_for(self, count: int, seconds: float = 60.0) -> list[dict[str, Any]]:
        """The accepted events once at least `count` distinct ids arrived (the event loop
        runs meanwhile: the dispatcher may be on it)."""
        deadline = time.monotonic() + seconds
        while True:
            events = self.accepted()
            if len({e["id"] for e in events}) >= count:
                return events
            assert time.monotonic() < deadline, f"{len(events)} of {count} arrived"
            await asyncio.sleep(0.02)
