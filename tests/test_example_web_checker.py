"""The web-page-checker example (examples/web-page-checker), a plugin written only against the
public contract: installed the way a plugin is installed, its own test suite, and a deployment
of it through the local host's HTTP API, checking a real local site."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

from tests.support.api import all_logs, call, expect_problem, wait_for
from tests.support.azurite import ROOT
from tests.support.host import HostProcess
from tests.support.packages import install, passed_exactly, run_own_tests

EXAMPLE = ROOT / "examples" / "web-page-checker"


def _fake_site() -> type:
    """The example's test site (its tests directory is not a package of this repository)."""
    path = EXAMPLE / "tests" / "fake_site.py"
    spec = importlib.util.spec_from_file_location("web_page_checker_fake_site", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.FakeSite


FakeSite = _fake_site()


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The example pip-installed into a directory of its own, leaving .venv as it was (httpx,
    its one dependency, is the host's)."""
    target = tmp_path_factory.mktemp("web-page-checker") / "site-packages"
    install(EXAMPLE, target, dependencies=False)
    return target


def python_path(*paths: Path) -> str:
    inherited = [os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else []
    return os.pathsep.join([*map(str, paths), *inherited])


@pytest.mark.timeout(600)
def test_the_examples_own_tests_pass(installed, storage_connection):
    result = run_own_tests(EXAMPLE, installed, storage_connection)
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-2000:]
    collected = sum(" PASSED" in line for line in result.stdout.splitlines())
    assert collected >= 30, result.stdout[-4000:]
    assert passed_exactly(result.stdout, collected), result.stdout[-4000:]


@pytest.fixture(scope="module")
def host(installed, storage_connection):
    """The local host with the plugin on its path, found through its entry point."""
    process = HostProcess(storage_connection, env={"PYTHONPATH": python_path(installed)})
    process.start()
    yield process
    process.stop()


@pytest.fixture
async def site():
    async with FakeSite() as running:
        yield running


async def deploy(api, **config) -> str:
    body = {"workload": "web-page-checker", "config": config}
    code, accepted, _ = await call(api, "POST", "/api/deployments", json=body)
    assert code == 202, accepted
    return accepted["deployment_id"]


async def test_the_host_offers_the_installed_plugin(api):
    code, body, _ = await call(api, "GET", "/api/workloads/web-page-checker")

    assert code == 200, body
    assert body["phases"] == ["initialize", "checking", "report"]
    assert body["version"] == "0.1.0"


async def test_a_deployment_checks_the_site_and_reports_through_the_api(api, site):
    pages = [site.page(path) for path in ("/", "/moved", "/error", "/plain")]
    deployment_id = await deploy(
        api, urls=pages, contains="Welcome", batch_size=3, rounds=2, interval_seconds=1
    )

    final = await wait_for(api, deployment_id, "completed", "failed", seconds=120)

    assert final["status"] == "completed", final["error"]
    metadata = final["metadata"]
    failures = {
        url: (f["status"], f["reason"], f["count"]) for url, f in metadata["failures"].items()
    }
    assert failures == {
        site.page("/error"): (500, "status 500, expected 200", 2),
        site.page("/plain"): (200, "text 'Welcome' not found", 2),
    }
    assert metadata["summary"]["checked"] == 8
    assert (metadata["summary"]["ok"], metadata["summary"]["failed"]) == (4, 4)
    assert metadata["rounds_completed"] == 2
    assert metadata["progress"] == {"done": 8, "total": 8, "unit": "checks"}
    assert metadata["healthy"] is False
    assert site.hits["/"] == 2
    logs = await all_logs(api, deployment_id)
    assert sum(line.startswith(f"FAILED {site.page('/error')} (round ") for line in logs) == 2
    assert "Checked 8 pages in 2 round(s): 4 ok, 4 failed" in logs
    assert "Phase report started" in logs


async def test_fail_on_error_fails_the_deployment(api, site):
    deployment_id = await deploy(
        api, urls=[site.page("/"), site.page("/error")], fail_on_error=True
    )

    final = await wait_for(api, deployment_id, "completed", "failed", seconds=120)

    assert final["status"] == "failed"
    assert (
        final["error"]
        == f"1 of 2 page checks failed: {site.page('/error')}: status 500, expected 200"
    )


async def test_a_bad_url_is_refused_with_422(api):
    body = {"workload": "web-page-checker", "config": {"urls": ["https://ok.example/", "ftp://x/"]}}

    problem = await expect_problem(api, "POST", "/api/deployments", 422, json=body)

    assert problem["errors"] == [
        {"key": "urls.1", "message": "'ftp://x/' is not an http:// or https:// URL"}
    ]
