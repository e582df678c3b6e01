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
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import httpx

from devhost.azurite import DEFAULT_PORTS, Azurite, listening

DEV_STORAGE = "UseDevelopmentStorage=true"
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
        if self.popen.poll() is not None:
            return
        os.killpg(self.popen.pid, sig)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait()


def start_azurite(app_dir: Path, data_dir: Path, log: Path) -> Process:
    busy = [name for name, port in AZURITE_PORTS.items() if _listening("127.0.0.1", port)]
    if busy:
        raise DevError(
            f"ports for Azurite {busy} are taken by something that is not answering as "
            "Azurite's Table service; free them or set AzureWebJobsStorage"
        )
    azurite = Azurite(app_dir, all_services=True, location=data_dir, log=log)
    try:
        azurite.start()
    except (FileNotFoundError, TimeoutError) as exc:
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        raise DevError(f"Azurite did not start: {exc}\n{tail}") from None
    assert azurite.process is not None
    return Process("azurite", azurite.process)


def start_host(app_dir: Path, port: int, storage: str, log: Path) -> Process:
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
    url = f"http://127.0.0.1:{port}/api/health"

    def healthy() -> bool:
        try:
            return httpx.get(url, timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    _wait(healthy, popen, "the local host", log, timeout=90)
    return Process("host", popen)


def _wait(ready, popen: subprocess.Popen[bytes], what: str, log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if popen.poll() is not None or time.monotonic() > deadline:
            if popen.poll() is None:
                os.killpg(popen.pid, signal.SIGKILL)
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise DevError(f"{what} did not start (log: {log}):\n{tail}")
        time.sleep(0.1)


@contextmanager
def dev_environment(
    app_dir: Path, port: int = 7071, *, reset: bool = False, state_dir: Path | None = None
) -> Iterator[str]:
    """Start Azurite (unless the configured storage already answers) and the local host;
    yield the host's base URL; stop what was started, in reverse order. Logs and Azurite's
    data live in `state_dir` (default: .haymaker/ in the app)."""
    state = state_dir or app_dir / ".haymaker"
    if reset and (state / "azurite").exists():
        shutil.rmtree(state / "azurite")
    state.mkdir(parents=True, exist_ok=True)
    storage = configured_storage(app_dir)
    started: list[Process] = []
    try:
        endpoint = _table_endpoint(storage)
        if endpoint is not None and not _listening(*endpoint):
            if storage.strip().lower() != DEV_STORAGE.lower():
                raise DevError(f"storage at {endpoint[0]}:{endpoint[1]} does not answer")
            started.append(start_azurite(app_dir, state / "azurite", state / "azurite.log"))
        started.append(start_host(app_dir, port, storage, state / "host.log"))
        yield f"http://127.0.0.1:{port}"
    finally:
        for process in reversed(started):
            process.stop(signal.SIGTERM if process.name == "host" else signal.SIGINT)
