"""The mapping from a question and a start page to the goal agent's config."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from haymaker.errors import ConfigError
from haymaker.workloads.goal_agent import GoalAgentWorkload

TOOLS = ["http_fetch", "memory_write", "memory_search", "memory_read", "finish"]


class SiteResearcherWorkload(GoalAgentWorkload):
    @classmethod
    def check_config(cls, config: dict[str, Any]) -> None:
        url = urlsplit(config["start_url"])
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ConfigError(
                "start_url must be an http(s) URL",
                errors=[{"key": "start_url", "message": "an http(s) URL"}],
            )
        super().check_config(config)

    @classmethod
    def agent_config(cls, config: dict[str, Any]) -> dict[str, Any]:
        host = urlsplit(config["start_url"]).hostname
        return {
            "goal": (
                f"Answer this question: {config['question']}\n"
                f"Start at {config['start_url']} and follow its links on the same site. "
                "Write each useful fact to your notes with memory_write (a short key per "
                "fact), check your notes with memory_search before fetching a page again, "
                "and finish with the answer and the pages it comes from."
            ),
            "success_criteria": "The answer is stated and cites the pages it comes from.",
            "tools": TOOLS,
            "allowed_hosts": [host],
            "max_turns": config["max_pages"] * 2 + 2,
            "enable_memory": config["remember"],
            "agent_name": "site-researcher",
        }
