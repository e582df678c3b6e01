"""`haymaker dev`: Azurite from the project's node_modules plus the local host, started and
stopped together."""

from __future__ import annotations

import importlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import httpx

from devhost.azurite import ACCOUNT, DEFAULT_PORTS, Azurite, listening

DEV_STORAGE = "UseDevelopmentStorage=true"
# Where the app serves its dashboard (api.ui.MOUNT; the CLI does not import the app).
DASHBOARD_PATH = "/api/ui/"


def dashboard_url(base_url: str) -> str:
    return base_url.rstrip("/") + DASHBOARD_PATH


AZURITE_PORTS = DEFAULT_PORTS


class DevError(Exception):
    exit_code = 1


class MissingRuntimeError(DevError):
    """A CLI-only install: the Functions runtime (the `app` extra) is not there."""

    exit_code = 2


def require_app_runtime() -> None:
    """Refuse before starting anything when the local host cannot run the app."""
    try:
        importlib.import_module("devhost.server")  # aiohttp and the Functions SDKs
    except ImportError as exc:
        raise MissingRuntimeError(
            f"`haymaker dev` runs the Functions app, whose runtime is not installed ({exc}): "
            "pip install 'haymaker-functions[app]'"
        ) from None


def _listening(host: str, port: int) -> bool:
    return listening(port, host)


def _table_endpoint(storage: str) -> tuple[str, int] | None:
    """Where a connection string's Table endpoint lives, if it is one we can probe."""
    if storage.strip().lower() == DEV_STORAGE.lower():
        return "127.0.0.1", AZURITE_PORTS["table"]
    parts = dict(part.split("=", 1) for part in storage.split(";") if "=" in part)
    endpoint = parts.get("TableEndpoint")
    if endpoint:
        parsed = urlparse(endpoint)
        return parsed.hostname or "127.0.0.1", parsed.port or (
            443 if parsed.scheme == "https" else 80
        )
    return None


def configured_storage(app_dir: Path) -> str:
    from devhost.config import load_local_settings

    load_local_settings(app_dir)
    return os.environ.get("AzureWebJobsStorage") or DEV_STORAGE


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]

    def stop(self, sig: int = signal.SIGINT, timeout: float = 15) -> None:
        """Send `sig` to its process group and wait; SIGKILL after `timeout` seconds."""
        if self.popen.poll() is not None:
            return
        os.killpg(self.popen.pid, sig)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait()


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-2000:] if log.exists() else ""


def azurite_for(storage: str, app_dir: Path, state: Path) -> Azurite | None:
    """The Azurite to start for `storage`, None when something answers there already: all
    three services on the well-known ports for UseDevelopmentStorage=true, the Table service
    alone on the port of a local emulator's connection string (the development account on
    127.0.0.1 or localhost). Storage anywhere else that does not answer is a DevError."""
    endpoint = _table_endpoint(storage)
    if endpoint is None or _listening(*endpoint):
        return None
    host, port = endpoint
    data, log = state / "azurite", state / "azurite.log"
    if storage.strip().lower() == DEV_STORAGE.lower():
        busy = [name for name, port in AZURITE_PORTS.items() if _listening("127.0.0.1", port)]
        if busy:
            raise DevError(
                f"ports for Azurite {busy} are taken by something that is not answering as "
                "Azurite's Table service; free them or set AzureWebJobsStorage"
            )
        return Azurite(app_dir, all_services=True, location=data, log=log)
    if host in ("127.0.0.1", "localhost") and f"AccountName={ACCOUNT}" in storage:
        return Azurite(app_dir, table_port=port, location=data, log=log)
    raise DevError(f"storage at {host}:{port} does not answer")


def start_azurite(azurite: Azurite) -> None:
    try:
        azurite.start()
    except (FileNotFoundError, TimeoutError) as exc:
        tail = _tail(azurite.log) if azurite.log else ""
        raise DevError(f"Azurite did not start: {exc}\n{tail}") from None


def spawn_host(app_dir: Path, port: int, storage: str, log: Path) -> Process:
    """`python -m devhost` in a session of its own (a terminal's Ctrl-C reaches only this
    process, which stops it in order)."""
    if _listening("127.0.0.1", port):
        raise DevError(f"port {port} is taken; choose another with --port")
    env = {**os.environ, "AzureWebJobsStorage": storage, "PYTHONUNBUFFERED": "1"}
    popen = subprocess.Popen(
        [sys.executable, "-m", "devhost", "--port", str(port), "--app-dir", str(app_dir)],
        cwd=app_dir,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return Process("host", popen)


def wait_until_healthy(host: Process, port: int, log: Path, timeout: float = 90) -> None:
    """Until GET /api/health answers 200; DevError (with the log's tail) if the host exits
    or `timeout` seconds pass, after killing it."""
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=1) as http:
        while not _healthy(http, f"http://127.0.0.1:{port}/api/health"):
            if host.popen.poll() is not None or time.monotonic() > deadline:
                host.stop(signal.SIGKILL)
                raise DevError(f"the local host did not start (log: {log}):\n{_tail(log)}")
            time.sleep(0.1)


def _healthy(http: httpx.Client, url: str) -> bool:
    try:
        return http.get(url).status_code == 200
    except httpx.HTTPError:
        return False


def start_host(app_dir: Path, port: int, storage: str, log: Path) -> Process:
    host = spawn_host(app_dir, port, storage, log)
    wait_until_healthy(host, port, log)
    return host


@contextmanager
def dev_environment(
    app_dir: Path, port: int = 7071, *, reset: bool = False, state_dir: Path | None = None
) -> Iterator[str]:
    """Start Azurite (unless the configured storage already answers) and the local host;
    yield the host's base URL; stop what was started, in reverse order, however the block
    ends. Each process is registered for stopping as soon as it exists, so an interruption
    while it starts stops it too. Logs and Azurite's data live in `state_dir` (default:
    .haymaker/ in the app)."""
    state = state_dir or app_dir / ".haymaker"
    if reset and (state / "azurite").exists():
        shutil.rmtree(state / "azurite")
    state.mkdir(parents=True, exist_ok=True)
    storage = configured_storage(app_dir)
    with ExitStack() as started:
        azurite = azurite_for(storage, app_dir, state)
        if azurite is not None:
            started.callback(azurite.stop)  # SIGINT: the Table service flushes only on SIGINT
            start_azurite(azurite)
        host = spawn_host(app_dir, port, storage, state / "host.log")
        started.callback(host.stop, signal.SIGTERM)
        wait_until_healthy(host, port, state / "host.log")
        yield f"http://127.0.0.1:{port}"
