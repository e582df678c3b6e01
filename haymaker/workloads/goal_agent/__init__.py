"""The goal-seeking LLM agent workload."""

from haymaker.workloads.goal_agent.workload import GoalAgentWorkload

__all__ = ["GoalAgentWorkload"]
