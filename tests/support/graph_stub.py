"""A loopback stand-in for the parts of Microsoft Graph the simulation uses."""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Call:
    method: str
    path: str
    body: Any
    authorization: str | None


@dataclass
class GraphStub:
    users: dict[str, dict[str, Any]] = field(default_factory=dict)  # by object id
    calls: list[Call] = field(default_factory=list)
    throttle: list[int] = field(default_factory=list)  # Retry-After seconds for the next POSTs
    failing_deletes: set[str] = field(default_factory=set)  # object ids whose DELETE answers 403

    def start(self) -> GraphStub:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(
                self, status: int, body: Any = None, headers: dict[str, str] | None = None
            ) -> None:
                data = b"" if body is None else json.dumps(body).encode()
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _handle(self, method: str) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                stub.calls.append(Call(method, self.path, body, self.headers.get("authorization")))
                status, answer, headers = stub.route(method, self.path, body)
                self._answer(status, answer, headers)

            def do_GET(self) -> None:
                self._handle("GET")

            def do_POST(self) -> None:
                self._handle("POST")

            def do_DELETE(self) -> None:
                self._handle("DELETE")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def by_upn(self, upn: str) -> dict[str, Any] | None:
        return next(
            (u for u in self.users.values() if u["userPrincipalName"].lower() == upn.lower()), None
        )

    def writes(self) -> list[Call]:
        return [c for c in self.calls if c.method != "GET"]

    def route(self, method: str, path: str, body: Any) -> tuple[int, Any, dict[str, str] | None]:
        if method == "POST" and self.throttle:
            return (
                429,
                {"error": {"code": "TooManyRequests", "message": "slow down"}},
                {"Retry-After": str(self.throttle.pop(0))},
            )
        parts = path.split("?")[0].strip("/").split("/")  # v1.0, users, ...
        if parts[:2] != ["v1.0", "users"] and parts[:2] != ["v1.0", "teams"]:
            return 404, {"error": {"message": "no such resource"}}, None
        if parts[1] == "teams":
            return 201, {"id": str(uuid.uuid4())}, None
        if method == "POST" and len(parts) == 2:
            if self.by_upn(body["userPrincipalName"]):
                message = "Another object with the same value for property userPrincipalName already exists."
                return 400, {"error": {"code": "Request_BadRequest", "message": message}}, None
            user = {**body, "id": str(uuid.uuid4())}
            self.users[user["id"]] = user
            return 201, {"id": user["id"], "userPrincipalName": user["userPrincipalName"]}, None
        key = parts[2] if len(parts) > 2 else ""
        user = self.users.get(key) or self.by_upn(key)
        if method == "GET":
            return (
                (200, {"id": user["id"], "userPrincipalName": user["userPrincipalName"]}, None)
                if user
                else (404, {"error": {"message": "not found"}}, None)
            )
        if method == "DELETE":
            if key in self.failing_deletes:
                return (
                    403,
                    {"error": {"message": "Insufficient privileges to complete the operation."}},
                    None,
                )
            if user is None:
                return 404, {"error": {"message": "not found"}}, None
            del self.users[user["id"]]
            return 204, None, None
        if method == "POST" and parts[-1] == "sendMail":
            return (202, None, None) if user else (404, {"error": {"message": "no mailbox"}}, None)
        return 400, {"error": {"message": f"unexpected {method} {path}"}}, None
