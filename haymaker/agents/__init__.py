"""The agent runtime: an LLM pursuing a goal with tools, one durable step per model turn and
per tool call, its transcript in a table of its own (haymaker.agents.transcript), its tool
calls in a ledger (haymaker.store.toolcalls), under the platform's approvals and budgets.
The goal-agent workload (haymaker.workloads.goal_agent) runs it."""
