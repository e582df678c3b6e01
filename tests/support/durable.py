"""The in-process orchestration driver now lives in haymaker.testing (the author test kit)."""

from haymaker.testing.orchestration import ActivityHook, InlineOrchestration

__all__ = ["ActivityHook", "InlineOrchestration"]
