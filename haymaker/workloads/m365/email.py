"""Email content: department-aware, written by the LLM when there is one, from rotating
templates when there is not or when its answer is unusable."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from haymaker.workloads.m365.patterns import Department, Worker

TEMPLATES: dict[Department, list[tuple[str, str]]] = {
    Department.OPERATIONS: [
        (
            "Weekly operations status",
            "Hi team,\n\nAll systems ran within targets this week. Two maintenance windows are planned for Thursday.\n",
        ),
        (
            "Vendor delivery update",
            "Hello,\n\nThe vendor confirmed the delivery for next Monday. Please have the loading area ready.\n",
        ),
    ],
    Department.ENGINEERING: [
        (
            "Design review notes",
            "Hi all,\n\nNotes from today's design review are in the shared folder. Open questions are tagged.\n",
        ),
        (
            "Release candidate ready",
            "Team,\n\nRC2 is built and deployed to staging. Please run your smoke tests by end of day.\n",
        ),
    ],
    Department.SALES: [
        (
            "Follow-up on our call",
            "Hello,\n\nThank you for your time today. As promised, the proposal is attached for your review.\n",
        ),
        (
            "Pipeline review",
            "Hi team,\n\nPlease update your opportunities before Friday's pipeline review.\n",
        ),
    ],
    Department.HR: [
        (
            "Benefits enrolment reminder",
            "Hello everyone,\n\nOpen enrolment closes at the end of the month. Reach out with any questions.\n",
        ),
        (
            "Onboarding schedule",
            "Hi,\n\nThe onboarding schedule for new starters is attached. Please confirm your sessions.\n",
        ),
    ],
    Department.FINANCE: [
        (
            "Month-end close",
            "Hi all,\n\nMonth-end close starts Tuesday. Please submit outstanding expense reports by Monday.\n",
        ),
        (
            "Budget variance",
            "Hello,\n\nThe Q3 variance report is ready. Marketing and travel are above plan.\n",
        ),
    ],
    Department.EXECUTIVE: [
        (
            "Leadership sync agenda",
            "Team,\n\nAgenda for Thursday: quarterly goals, hiring plan, customer escalations.\n",
        ),
        (
            "All-hands next week",
            "Hi everyone,\n\nOur all-hands is next Wednesday. Please send questions in advance.\n",
        ),
    ],
}
SYSTEM = (
    "You write short, realistic workplace emails. No placeholders, no signatures with brackets."
)


@dataclass(frozen=True)
class Email:
    subject: str
    body: str
    source: Literal["llm", "template"]


def parse(text: str) -> tuple[str, str]:
    """'Subject: ...' then the body; ValueError when the answer is not shaped like that."""
    lines = text.strip().splitlines()
    if not lines or not lines[0].lower().startswith("subject:"):
        raise ValueError("no Subject: line")
    subject = lines[0].split(":", 1)[1].strip()
    body = "\n".join(lines[1:]).strip()
    if not 1 <= len(subject) <= 200 or not 1 <= len(body) <= 5000:
        raise ValueError("subject or body out of bounds")
    return subject, body


class EmailGenerator:
    def __init__(self, llm: Callable[[], Any] | None, directive: str = "") -> None:
        self._llm = llm
        self.directive = directive

    async def generate(self, sender: Worker, recipient: Worker, rotation: int) -> Email:
        if self._llm is not None:
            try:
                return await self._written(sender, recipient)
            except (
                Exception
            ):  # any LLM trouble (settings, errors, a malformed answer): use a template
                pass
        subject, body = TEMPLATES[sender.department][rotation % len(TEMPLATES[sender.department])]
        return Email(subject, body, "template")

    async def _written(self, sender: Worker, recipient: Worker) -> Email:
        from haymaker.llm import LLMMessage

        topic = f" The topic: {self.directive}." if self.directive else ""
        prompt = (
            f"Write an email from someone in {sender.department.value} to a colleague in "
            f"{recipient.department.value}.{topic} Start with a line 'Subject: <subject>', then the body "
            "(under 120 words)."
        )
        response = await self._llm().complete(
            [LLMMessage(role="user", content=prompt)], system=SYSTEM, max_tokens=300
        )
        subject, body = parse(response.content)
        return Email(subject, body, "llm")
