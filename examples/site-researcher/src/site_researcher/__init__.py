"""site-researcher: the platform's goal agent, specialised. It maps its own small config (a
question and a start page) to a goal-agent config (goal, tools, allowed hosts, turns), so it
runs with everything the agent runtime gives: durable turns and tool calls, transcripts,
approvals, budgets and memory."""

from site_researcher.workload import SiteResearcherWorkload

__all__ = ["SiteResearcherWorkload"]
