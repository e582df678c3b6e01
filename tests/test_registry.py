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
        assert found.names() == ["data-collector", "flaky-collector", "m365-knowledge-worker"]
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
