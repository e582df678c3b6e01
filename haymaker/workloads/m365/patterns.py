"""Who the simulated workers are and how often they do what.

Rates are per worker: emails and Teams messages per hour, documents and meetings per
(8-hour) day; in a simulated minute each happens with probability rate/60 (per hour) or
rate/480 (per day), and nothing happens outside work hours. Every draw is seeded by the
deployment's seed, the cycle and the worker, so a replayed or re-run cycle draws the same.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Department(StrEnum):
    OPERATIONS = "operations"
    ENGINEERING = "engineering"
    SALES = "sales"
    HR = "hr"
    FINANCE = "finance"
    EXECUTIVE = "executive"


@dataclass(frozen=True)
class ActivityPattern:
    emails_per_hour: float
    teams_per_hour: float
    documents_per_day: float
    meetings_per_day: float

    def probabilities(self) -> dict[str, float]:
        """Chance of each activity in one simulated minute of work."""
        return {
            "email": self.emails_per_hour / 60,
            "teams": self.teams_per_hour / 60,
            "document": self.documents_per_day / 480,
            "meeting": self.meetings_per_day / 480,
        }


DEPARTMENT_PATTERNS: dict[Department, ActivityPattern] = {
    Department.OPERATIONS: ActivityPattern(6, 8, 4, 4),
    Department.ENGINEERING: ActivityPattern(4, 15, 6, 3),
    Department.SALES: ActivityPattern(12, 10, 3, 8),
    Department.HR: ActivityPattern(10, 8, 5, 5),
    Department.FINANCE: ActivityPattern(6, 5, 8, 4),
    Department.EXECUTIVE: ActivityPattern(8, 5, 2, 10),
}
ACTIVITY_TYPES = ("email", "teams", "document", "meeting")
UPN_LOCAL_PART_MAX = 64


@dataclass(frozen=True)
class Worker:
    index: int
    department: Department
    number: int  # within the department, from 1
    upn: str

    @property
    def display_name(self) -> str:
        return f"Haymaker {self.department.value.title()} Worker {self.number}"

    @property
    def mail_nickname(self) -> str:
        return self.upn.split("@", 1)[0]


@dataclass(frozen=True)
class Activity:
    worker: Worker
    kind: str


def roster(
    deployment_id: str, workers: int, departments: list[str], tenant_domain: str
) -> list[Worker]:
    """The deployment's workers, spread round-robin over the departments. The UPN is
    haymaker-<deployment>-<dept>-<n>@<tenant> (a hash stands in for a deployment id too long
    for the 64-character local part)."""
    chosen = [Department(name) for name in departments]
    people = []
    for index in range(workers):
        department = chosen[index % len(chosen)]
        number = index // len(chosen) + 1
        local = f"haymaker-{deployment_id}-{department.value}-{number}"
        if len(local) > UPN_LOCAL_PART_MAX:
            digest = hashlib.sha256(deployment_id.encode()).hexdigest()[:10]
            local = f"haymaker-{digest}-{department.value}-{number}"
        people.append(Worker(index, department, number, f"{local}@{tenant_domain}"))
    return people


def simulate_minute(
    workers: list[Worker], cycle: int, moment: datetime, seed: str, start_hour: int, end_hour: int
) -> list[Activity]:
    """What the workers do in one simulated minute (cycle number `cycle`, at `moment`, UTC)."""
    if not start_hour <= moment.hour < end_hour:
        return []
    activities = []
    for worker in workers:
        draw = random.Random(f"{seed}:{cycle}:{worker.index}")
        for kind, chance in DEPARTMENT_PATTERNS[worker.department].probabilities().items():
            if draw.random() < chance:
                activities.append(Activity(worker, kind))
    return activities
