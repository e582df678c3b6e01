import importlib
from importlib.metadata import EntryPoint

import pytest

from haymaker.workloads import registry as registry_module
from haymaker.workloads.registry import WorkloadRegistry


def test_entry_point_plugins_are_discovered(monkeypatch):
    plugin = EntryPoint(
        "flaky-collector", "tests.support.flaky:FlakyWorkload", "haymaker.workloads"
    )
    broken = EntryPoint("broken", "tests.support.nowhere:Nothing", "haymaker.workloads")
    misnamed = EntryPoint("other-name", "tests.support.flaky:FlakyWorkload", "haymaker.workloads")
    monkeypatch.setattr(registry_module, "entry_points", lambda group: [plugin, broken, misnamed])
    registry_module.get_registry.cache_clear()
    try:
        found = registry_module.get_registry()
        assert found.names() == [
            "data-collector",
            "flaky-collector",
            "goal-agent",
            "m365-knowledge-worker",
        ]
        assert found.manifest("flaky-collector").phases == ["collecting"]
    finally:
        registry_module.get_registry.cache_clear()


def test_two_workloads_cannot_share_a_name():
    from haymaker.workloads.data_collector import DataCollectorWorkload

    class Impostor(DataCollectorWorkload):
        pass

    registry = WorkloadRegistry([DataCollectorWorkload])
    with pytest.raises(ValueError, match="two workloads"):
        registry.add(Impostor)


def test_a_workload_in_a_top_level_module_finds_its_manifest(tmp_path, monkeypatch):
    """A test file or script is a module outside any package: its own workload.yaml beside it,
    else the manifest of the workload it extends."""
    (tmp_path / "own_manifest.py").write_text(
        "from haymaker.workloads.base import Workload\n"
        "class Own(Workload):\n"
        "    async def run_step(self, ctx): ...\n"
    )
    (tmp_path / "workload.yaml").write_text('name: own-thing\nversion: "1"\nphases: [only]\n')
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "extends_builtin.py").write_text(
        "from haymaker.workloads.data_collector import DataCollectorWorkload\n"
        "class Quieter(DataCollectorWorkload):\n"
        "    pass\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.syspath_prepend(str(sub))
    own = importlib.import_module("own_manifest")
    extended = importlib.import_module("extends_builtin")
    assert own.Own.manifest().name == "own-thing"
    assert extended.Quieter.manifest().name == "data-collector"
