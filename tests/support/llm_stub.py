"""A small loopback HTTP server that answers like the Anthropic and OpenAI APIs, so tests run
the real SDKs end to end: it records every request and can be scripted with failures or with
exact response bodies (tests/support/llm_replies.py builds those in each API's real format)."""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from haymaker.llm import LLMConfig, Provider

STUB_KEY = "sk-test-do-not-leak-4242"  # the API key stub_config() gives every client


@dataclass
class Reply:
    status: int = 200
    text: str | None = None  # None: the default responder decides
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None  # the exact JSON to answer with, instead of the above


@dataclass
class Recorded:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def prompt(self) -> str:
        return "\n".join(str(m.get("content", "")) for m in self.body.get("messages", []))


def default_answer(request: Recorded) -> str:
    """Recover even-numbered items, skip odd ones; answer evaluations in one sentence."""
    match = re.search(r"Error collecting item (\d+)", request.prompt)
    if match:
        index = int(match.group(1))
        return json.dumps({"data": f"recovered-{index}"}) if index % 2 == 0 else "SKIP"
    return "Yes: the goal was achieved, every item was collected."


class LLMStub:
    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.script: deque[Reply] = deque()
        # Answers a request with an exact body when nothing is scripted (an agent's policy).
        self.respond: Callable[[Recorded], dict[str, Any]] | None = None
        self._lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                url = urlparse(self.path)
                length = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                request = Recorded(
                    url.path,
                    parse_qs(url.query),
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                )
                with stub._lock:
                    stub.requests.append(request)
                    if stub.script:
                        reply = stub.script.popleft()
                    elif stub.respond is not None:
                        reply = Reply(body=stub.respond(request))
                    else:
                        reply = Reply()
                if reply.delay:
                    time.sleep(reply.delay)
                payload = stub.payload(request, reply)
                try:
                    self.send_response(reply.status)
                    self.send_header("content-type", "application/json")
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    data = json.dumps(payload).encode()
                    self.send_header("content-length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def start(self) -> LLMStub:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def payload(self, request: Recorded, reply: Reply) -> dict[str, Any]:
        if reply.body is not None:
            return reply.body
        anthropic = request.path.endswith("/messages")
        if reply.status >= 400:
            message = f"stub error {reply.status}"
            if anthropic:
                return {"type": "error", "error": {"type": "api_error", "message": message}}
            return {
                "error": {"message": message, "type": "server_error", "code": str(reply.status)}
            }
        text = reply.text if reply.text is not None else default_answer(request)
        model = request.body.get("model", "stub-model")
        if anthropic:
            return {
                "id": "msg_stub",
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": [{"type": "text", "text": text}],
                "stop_reason": "end_turn",
                "stop_sequence": None,
                "usage": {"input_tokens": 12, "output_tokens": 7},
            }
        return {
            "id": "chatcmpl-stub",
            "object": "chat.completion",
            "created": 1_700_000_000,
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": text},
                }
            ],
            "usage": {"prompt_tokens": 12, "completion_tokens": 7, "total_tokens": 19},
        }


def stub_config(stub: LLMStub, provider: Provider, **fields: Any) -> LLMConfig:
    """Settings that point `provider`'s client at `stub` (quick retries, short timeout)."""
    defaults: dict[str, Any] = {
        Provider.ANTHROPIC: {"model": "claude-test", "endpoint": stub.url},
        Provider.OPENAI: {"model": "gpt-test", "endpoint": f"{stub.url}/v1"},
        Provider.AZURE_OPENAI: {
            "model": "my-deployment",
            "endpoint": stub.url,
            "api_version": "2024-10-21",
        },
        Provider.AZURE_AI_FOUNDRY: {"model": "foundry-model", "endpoint": stub.url},
    }[provider]
    return LLMConfig(
        provider=provider,
        **{"api_key": STUB_KEY, "max_retries": 2, "timeout": 5, **defaults, **fields},
    )
