"""What the agent runtime says to the model (besides the goal the user wrote)."""

from __future__ import annotations

from haymaker.tools import FINISH_TOOL

DEFAULT_SYSTEM_PROMPT = f"""You are an agent that pursues the goal the user gives you, using the \
tools offered. Work step by step: call a tool, read its result, decide the next step. When the \
goal is reached, or cannot be reached, call the `{FINISH_TOOL}` tool with a summary of what you \
did and found (and the result, if the goal asks for one). Do not invent facts a tool did not \
give you."""


def goal_message(goal: str, success_criteria: str | None, max_turns: int) -> str:
    text = f"Goal:\n{goal}"
    if success_criteria:
        text += f"\n\nSuccess criteria:\n{success_criteria}"
    return text + f"\n\nYou have at most {max_turns} turns. Call {FINISH_TOOL} when done."


def idle_nudge(turns: int) -> str:
    return (
        f"You have not called a tool for {turns} turns. Continue toward the goal with a tool, "
        f"or call {FINISH_TOOL} if you are done or cannot go on."
    )


def repeat_nudge(name: str, times: int) -> str:
    return (
        f"You have called {name} with the same arguments {times} times in a row and got the "
        f"same kind of answer. Try something different, or call {FINISH_TOOL}."
    )


SUMMARY_REQUEST = """Summarise the conversation so far for yourself, to continue the work from \
the summary alone: the goal, what you tried, what you found (keep facts, names, URLs and \
numbers), and what remains to do. Answer with the summary only."""


def evaluation_request(goal: str, criteria: str, result: str) -> str:
    return (
        f"Goal:\n{goal}\n\nSuccess criteria:\n{criteria}\n\nThe agent's result:\n{result}\n\n"
        "Were the success criteria met? Answer YES or NO on the first line, then one "
        "sentence saying why."
    )
