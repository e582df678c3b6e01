"""Azurite, the Azure Storage emulator, from the project's node_modules: start, wait, stop."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

# Azurite's well-known development account (public, documented by Microsoft).
ACCOUNT = "devstoreaccount1"
ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
DEFAULT_PORTS = {"blob": 10000, "queue": 10001, "table": 10002}


def connection_string(table_port: int) -> str:
    return (
        f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
        f"TableEndpoint=http://127.0.0.1:{table_port}/{ACCOUNT};"
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def listening(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.3):
            return True
    except OSError:
        return False


def wait_for_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not listening(port):
        if time.monotonic() > deadline:
            raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")
        time.sleep(0.05)


class Azurite:
    """The Table service alone on a given (default: free) port, in memory unless `location`
    is given; or, with `all_services`, blob, queue and table on the default ports, as
    `UseDevelopmentStorage=true` expects."""

    def __init__(
        self,
        project: Path,
        *,
        table_port: int | None = None,
        location: Path | None = None,
        all_services: bool = False,
        log: Path | None = None,
        bin_dir: Path | None = None,
    ) -> None:
        self.project = project
        # Where the azurite commands are (default: the project's node_modules/.bin).
        self.bin_dir = bin_dir or project / "node_modules" / ".bin"
        self.all_services = all_services
        self.table_port = DEFAULT_PORTS["table"] if all_services else table_port or free_port()
        self.location = location
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def connection_string(self) -> str:
        return connection_string(self.table_port)

    def command(self) -> list[str]:
        name = "azurite" if self.all_services else "azurite-table"
        binary = self.bin_dir / name
        if not binary.exists():
            raise FileNotFoundError(f"{binary} is missing: run `npm ci` (or `make install`) first")
        if self.all_services:
            hosts = [f"--{service}Host=127.0.0.1" for service in DEFAULT_PORTS]
        else:
            hosts = ["--tableHost=127.0.0.1", f"--tablePort={self.table_port}"]
        storage = [f"--location={self.location}"] if self.location else ["--inMemoryPersistence"]
        if self.location and self.all_services:
            storage.append(f"--debug={self.location / 'debug.log'}")
        return [
            str(binary),
            *hosts,
            *storage,
            "--skipApiVersionCheck",
            "--loose",
            "--silent",
            "--disableTelemetry",
        ]

    def start(self, timeout: float = 30.0) -> Azurite:
        if self.location:
            self.location.mkdir(parents=True, exist_ok=True)
        output = self.log.open("ab") if self.log else subprocess.DEVNULL
        self.process = subprocess.Popen(
            self.command(), stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            wait_for_port(self.table_port, timeout)
        except TimeoutError:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """SIGINT: the Table service flushes its data only on SIGINT."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.process = None
