"""Run the local host (python -m devhost) as a subprocess, as users and CI do."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from tests.support.azurite import ROOT, free_port, wait_for_port


class HostProcess:
    def __init__(
        self,
        storage: str,
        *,
        app_dir: Path = ROOT,
        port: int | None = None,
        table_prefix: str | None = None,
        task_hub: str | None = None,
        function_key: str | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.app_dir = app_dir
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.function_key = function_key
        self.task_hub = task_hub or f"Hub{uuid.uuid4().hex[:10]}"
        self.env = {
            **os.environ,
            "AzureWebJobsStorage": storage,
            "HAYMAKER_TABLE_PREFIX": table_prefix or f"t{uuid.uuid4().hex[:12]}",
            "AzureFunctionsJobHost__extensions__durableTask__hubName": self.task_hub,
            "PYTHONUNBUFFERED": "1",
            "HAYMAKER_SCHEDULER_CRON": "0 * * * * *",
            "HAYMAKER_DEPLOY_RATE_LIMIT": "0",
            **(env or {}),
        }
        self.table_prefix = self.env["HAYMAKER_TABLE_PREFIX"]
        self.log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"devhost-{self.task_hub}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> HostProcess:
        command = [
            sys.executable,
            "-m",
            "devhost",
            "--port",
            str(self.port),
            "--app-dir",
            str(self.app_dir),
        ]
        if self.function_key:
            command += ["--function-key", self.function_key]
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            wait_for_port(self.port, timeout=60)
        except TimeoutError:
            raise RuntimeError(f"the host did not start:\n{self.log()}") from None
        deadline = time.monotonic() + 30
        while "listening on" not in self.log():
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError(f"the host did not start:\n{self.log()}")
            time.sleep(0.05)
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self) -> None:
        """kill -9: no chance to flush or clean up."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
