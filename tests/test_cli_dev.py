"""`haymaker dev` as a process manager, `timeout` or a closed terminal stops it: Azurite and
the local host stop with it, their ports are free again, and the exit status says which signal
(128 + its number). Run on free ports, with a Table-only Azurite that `haymaker dev` starts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from devhost.azurite import listening
from tests.support.azurite import ROOT, connection_string, free_port


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # it ended meanwhile
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def running(pid: int) -> bool:
    """Alive and not a zombie (a zombie has stopped; only its exit status is left)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_stops_azurite_and_the_host_and_frees_their_ports(tmp_path, sig):
    host_port, table_port = free_port(), free_port()
    env = {
        **os.environ,
        "AzureWebJobsStorage": connection_string(table_port),
        "HAYMAKER_TABLE_PREFIX": f"dev{uuid.uuid4().hex[:8]}",
        "PYTHONUNBUFFERED": "1",
    }
    command = [sys.executable, "-m", "haymaker_cli", "dev", "--port", str(host_port)]
    command += ["--app-dir", str(ROOT), "--state-dir", str(tmp_path)]
    dev = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    children: list[int] = []
    try:
        assert dev.stdout is not None
        shown = []
        for line in dev.stdout:
            shown.append(line)
            if "try: HAYMAKER_URL=" in line:  # the banner's last line
                break
        assert dev.poll() is None, "".join(shown)
        children = children_of(dev.pid)
        assert len(children) == 2  # Azurite and the host
        assert listening(host_port)
        assert listening(table_port)

        dev.send_signal(sig)
        rest = dev.stdout.read()  # until it exits
        dev.wait()
        assert [pid for pid in children if running(pid)] == [], rest
        assert not listening(host_port)
        assert not listening(table_port)
        assert dev.returncode == 128 + sig, rest
        assert f"Dashboard: http://127.0.0.1:{host_port}/api/ui/" in "".join(shown) + rest
    finally:
        for pid in children:  # if it left them behind
            if running(pid):
                os.killpg(pid, signal.SIGKILL)
        if dev.poll() is None:
            dev.kill()
            dev.wait()
