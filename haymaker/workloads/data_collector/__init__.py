"""The data-collector goal-seeking agent from the agent-haymaker tutorial, made durable."""

from haymaker.workloads.data_collector.workload import DataCollectorWorkload

__all__ = ["DataCollectorWorkload"]
