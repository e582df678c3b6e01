"""Finds workloads: the built-in ones and any installed under the `haymaker.workloads` entry
point group (agent-haymaker plugins use the same mechanism)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from functools import cache
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from haymaker.errors import WorkloadNotFoundError
from haymaker.workloads.base import Workload
from haymaker.workloads.manifest import WorkloadManifest

ENTRY_POINT_GROUP = "haymaker.workloads"

logger = logging.getLogger(__name__)


class WorkloadRegistry:
    def __init__(self, workloads: Iterable[type[Workload]] = ()) -> None:
        self._classes: dict[str, type[Workload]] = {}
        for cls in workloads:
            self.add(cls)

    def add(self, cls: type[Workload]) -> None:
        name = cls.manifest().name
        existing = self._classes.get(name)
        if existing is not None and existing is not cls:
            raise ValueError(f"two workloads are named {name}: {existing} and {cls}")
        self._classes[name] = cls

    def names(self) -> list[str]:
        return sorted(self._classes)

    def manifest(self, name: str) -> WorkloadManifest:
        return self._class(name).manifest()

    def validate_config(self, name: str, config: dict[str, Any] | None) -> dict[str, Any]:
        """The schema's checks (defaults, types, ranges, unknown keys) and the workload's own."""
        cls = self._class(name)
        validated = cls.manifest().validate_config(config)
        cls.check_config(validated)
        return validated

    def create(self, name: str) -> Workload:
        return self._class(name)()

    def workload_class(self, name: str) -> type[Workload]:
        return self._class(name)

    def manifests(self) -> list[WorkloadManifest]:
        return [self._classes[name].manifest() for name in self.names()]

    def _class(self, name: str) -> type[Workload]:
        try:
            return self._classes[name]
        except KeyError:
            known = ", ".join(self.names()) or "none"
            raise WorkloadNotFoundError(
                f"no workload named {name!r} (installed: {known})"
            ) from None


def _load_entry_point(entry_point: EntryPoint) -> type[Workload] | None:
    try:
        cls = entry_point.load()
        if not (isinstance(cls, type) and issubclass(cls, Workload)):
            raise TypeError(f"{entry_point.value} is not a Workload subclass")
        if cls.manifest().name != entry_point.name:
            raise ValueError(
                f"entry point {entry_point.name} names a workload called {cls.manifest().name}"
            )
    except Exception:
        # One broken plugin must not take the platform down; it is simply not offered.
        logger.exception("workload plugin %s could not be loaded", entry_point.name)
        return None
    return cls


def builtin_workloads() -> list[type[Workload]]:
    from haymaker.workloads.data_collector import DataCollectorWorkload
    from haymaker.workloads.goal_agent import GoalAgentWorkload
    from haymaker.workloads.m365 import M365KnowledgeWorkerWorkload

    return [DataCollectorWorkload, M365KnowledgeWorkerWorkload, GoalAgentWorkload]


@cache
def get_registry() -> WorkloadRegistry:
    registry = WorkloadRegistry(builtin_workloads())
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        cls = _load_entry_point(entry_point)
        if cls is not None:
            try:
                registry.add(cls)
            except ValueError:
                logger.exception("workload plugin %s clashes with another", entry_point.name)
    return registry
