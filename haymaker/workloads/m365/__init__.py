"""The M365 knowledge-worker simulation, made durable."""

from haymaker.workloads.m365.workload import M365KnowledgeWorkerWorkload

__all__ = ["M365KnowledgeWorkerWorkload"]
