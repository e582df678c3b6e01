"""The site-researcher example (examples/site-researcher): a specialised goal agent,
installed the way a plugin is, passing its own test suite in a process of its own."""

from __future__ import annotations

import pytest

from tests.support.azurite import ROOT
from tests.support.packages import install, passed_exactly, run_own_tests

EXAMPLE = ROOT / "examples" / "site-researcher"


@pytest.mark.timeout(600)
def test_the_examples_own_tests_pass(tmp_path, storage_connection):
    target = tmp_path / "site-packages"
    install(EXAMPLE, target, dependencies=False)
    result = run_own_tests(EXAMPLE, target, storage_connection)
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-2000:]
    assert passed_exactly(result.stdout, 6), result.stdout[-4000:]
