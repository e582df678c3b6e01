"""Schemathesis against the served OpenAPI document on a live local host: every operation,
examples, coverage (boundary and negative values), random fuzzing, and stateful sequences
that follow the document's links (deploy -> status/stop/start/cleanup/purge).

The run must end with no failed check: no 5xx, and every status, content type, header and
body one the document declares. It must also reach the core logic, not just bounce off
validation: some deployments and schedules are created along the way.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.azurite import ROOT
from tests.support.host import HostProcess

CONFIG = Path(__file__).parent / "fuzz" / "schemathesis.toml"
KEY = "fuzz-key"
# Cases per operation and phase; a deeper local run can raise it.
MAX_EXAMPLES = os.environ.get("HAYMAKER_FUZZ_EXAMPLES", "40")
SEED = os.environ.get("HAYMAKER_FUZZ_SEED", "20261123")


@dataclass
class FuzzReport:
    cases: Counter[str] = field(default_factory=Counter)  # by generation mode
    statuses: Counter[int] = field(default_factory=Counter)
    failed_checks: Counter[str] = field(default_factory=Counter)

    @classmethod
    def from_ndjson(cls, path: Path) -> FuzzReport:
        report = cls()
        for line in path.read_text().splitlines():
            event = json.loads(line)
            recorder = event.get("ScenarioFinished", {}).get("recorder") or {}
            for case in recorder.get("cases", {}).values():
                report.cases[case["value"]["meta"]["generation"]["mode"]] += 1
            for interaction in recorder.get("interactions", {}).values():
                if interaction.get("response"):
                    report.statuses[interaction["response"]["status_code"]] += 1
            for checks in recorder.get("checks", {}).values():
                for check in checks:
                    if check["status"] != "success":
                        report.failed_checks[check["name"]] += 1
        return report

    def summary(self) -> str:
        server_errors = sum(n for status, n in self.statuses.items() if status >= 500)
        return (
            f"{sum(self.cases.values())} cases ({dict(self.cases)}), "
            f"{sum(self.statuses.values())} responses, {server_errors} x 5xx, "
            f"statuses {dict(sorted(self.statuses.items()))}, "
            f"failed checks {dict(self.failed_checks) or 0}"
        )


@pytest.fixture(scope="module")
def fuzz_host(storage_connection):
    host = HostProcess(storage_connection, function_key=KEY).start()
    yield host
    host.stop()


def run_schemathesis(host: HostProcess, report: Path) -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(CONFIG),
        "run",
        f"{host.url}/api/openapi.json",
        "--checks",
        "all",
        "--header",
        f"x-functions-key:{KEY}",
        "--max-examples",
        MAX_EXAMPLES,
        "--seed",
        SEED,
        # One worker: Hypothesis' lambda-description cache is not thread-safe.
        "--workers",
        "1",
        "--generation-database",
        "none",
        # A subscription it made would send webhooks to whatever public host it names: the
        # tests keep their traffic on 127.0.0.1 (tests/test_events_host.py covers the API).
        "--exclude-operation-id",
        "createSubscription",
        "--no-color",
        "--report",
        "ndjson",
        "--report-ndjson-path",
        str(report),
    ]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900)


@pytest.mark.timeout(900)  # ~1,700 cases, about two minutes alone; more under a parallel suite
def test_schemathesis_finds_no_failures(fuzz_host: HostProcess, tmp_path: Path) -> None:
    events = tmp_path / "events.ndjson"
    result = run_schemathesis(fuzz_host, events)
    report = FuzzReport.from_ndjson(events)
    print(f"schemathesis: {report.summary()}")
    assert result.returncode == 0, f"{report.summary()}\n{result.stdout[-8000:]}"
    assert not report.failed_checks, report.summary()
    assert not [status for status in report.statuses if status >= 500], report.summary()
    assert report.cases["positive"] > 0, report.summary()
    assert report.cases["negative"] > 0, report.summary()
    created = report.statuses[201] + report.statuses[202]
    assert created > 0, f"nothing was created, so fuzzing never got past validation: {report}"
    # aiohttp itself may log malformed requests it refused; the app and host must log nothing.
    assert not re.findall(r"(?m)^\S+ \S+ ERROR (?!aiohttp\.server).*$", fuzz_host.log())
