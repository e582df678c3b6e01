"""A real MCP server (the official SDK's MCPServer over streamable HTTP) on 127.0.0.1 for the
integration tests: in a thread (`McpTestServer().start()`), or as its own process
(`python -m tests.support.mcp_server PORT`, for tests that kill it).

Its tools: `add` (structured output), `echo` (read-only, text only), `boom` (a tool error),
`slow` (sleeps as long as asked), `send` (side-effecting: records each call in `sent`, and in
the file named by HAYMAKER_TEST_MCP_SENT when run as a process) and `whoami` (answers with
the Authorization header it got, to prove it never reaches the model).
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.transport_security import TransportSecuritySettings
from mcp.types import ToolAnnotations

SENT_FILE = "HAYMAKER_TEST_MCP_SENT"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Recorded:
    sent: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)  # of every HTTP request
    calls: list[str] = field(default_factory=list)  # tool names, in order


def _append(path: str, line: str) -> None:
    with open(path, "a", encoding="utf-8") as file:
        file.write(line)


def build_server(recorded: Recorded) -> MCPServer:
    server = MCPServer("test-tools")

    @server.tool()
    def add(a: int, b: int) -> int:
        """Add two numbers."""
        recorded.calls.append("add")
        return a + b

    @server.tool(annotations=ToolAnnotations(readOnlyHint=True), structured_output=False)
    def echo(text: str) -> str:
        """Say the text back."""
        recorded.calls.append("echo")
        return f"echo: {text}"

    @server.tool()
    def boom() -> str:
        """Always fails."""
        recorded.calls.append("boom")
        raise ToolError("it broke on purpose")

    @server.tool()
    async def slow(seconds: float) -> str:
        """Answer after some seconds."""
        recorded.calls.append("slow")
        await asyncio.sleep(seconds)
        return "done"

    @server.tool()
    async def send(to: str, body: str, delay: float = 0) -> str:
        """Send a message (a side effect); `delay` seconds before it is sent."""
        recorded.calls.append("send")
        if delay:
            await asyncio.sleep(delay)
        recorded.sent.append({"to": to, "body": body})
        path = os.environ.get(SENT_FILE)
        if path:
            await asyncio.to_thread(_append, path, f"{to}\t{body}\n")
        return f"sent to {to}"

    @server.tool(structured_output=False)
    def whoami(ctx: Context) -> str:
        """The Authorization header this call came with."""
        recorded.calls.append("whoami")
        return f"you sent: {(ctx.headers or {}).get('authorization', 'nothing')}"

    return server


def asgi_app(recorded: Recorded) -> Any:
    # Test names (tools.test) reach it too, not only 127.0.0.1 as the SDK allows by default.
    security = TransportSecuritySettings(
        allowed_hosts=["127.0.0.1:*", "tools.test:*"], allowed_origins=["http://127.0.0.1:*"]
    )
    inner = build_server(recorded).streamable_http_app(transport_security=security)

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            recorded.headers.append(
                {name.decode(): value.decode() for name, value in scope["headers"]}
            )
        await inner(scope, receive, send)

    return app


class McpTestServer:
    """The server in a thread of this process, on a port of its own."""

    def __init__(self, port: int | None = None) -> None:
        import uvicorn

        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/mcp"
        self.recorded = Recorded()
        config = uvicorn.Config(
            asgi_app(self.recorded),
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="on",
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    def start(self) -> McpTestServer:
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the MCP test server did not start")
            time.sleep(0.02)
        return self

    def stop(self, *, force: bool = True) -> None:
        """Stop; `force`: at once, open connections dropped, calls in flight unanswered."""
        self._server.should_exit = True
        self._server.force_exit = force
        if self._thread is not None:
            self._thread.join(timeout=10)

    @property
    def sent(self) -> list[dict[str, Any]]:
        return self.recorded.sent


def main(port: int) -> None:
    import uvicorn

    uvicorn.run(asgi_app(Recorded()), host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main(int(sys.argv[1]))
