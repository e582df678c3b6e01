"""The in-process orchestration driver now lives in haymaker_testing (the author test kit)."""

from haymaker_testing.orchestration import ActivityHook, InlineOrchestration

__all__ = ["ActivityHook", "InlineOrchestration"]
