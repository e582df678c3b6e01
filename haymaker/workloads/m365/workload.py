"""Setup creates the workers' identities in batches; simulate runs one minute of the
workers' day per step, then pauses on a durable timer until the next cycle is due."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, timedelta
from typing import Any

from haymaker.errors import ConfigError
from haymaker.models import Resource
from haymaker.workloads.base import CleanupContext, StepContext, StepResult, Workload
from haymaker.workloads.m365 import graph
from haymaker.workloads.m365.email import EmailGenerator
from haymaker.workloads.m365.patterns import (
    ACTIVITY_TYPES,
    Activity,
    Worker,
    roster,
    simulate_minute,
)

EMAIL_CONCURRENCY = 8
_DOMAIN = re.compile(r"^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


class M365KnowledgeWorkerWorkload(Workload):
    @classmethod
    def check_config(cls, config: dict[str, Any]) -> None:
        errors = []
        if config["work_hours_start"] >= config["work_hours_end"]:
            errors.append(
                {"key": "work_hours_end", "message": "must be later than work_hours_start"}
            )
        if not _DOMAIN.fullmatch(config["tenant_domain"]):
            errors.append({"key": "tenant_domain", "message": "must be a domain name"})
        if config["teams_channel"] and config["teams_channel"].count("/") != 1:
            errors.append({"key": "teams_channel", "message": "must be 'team-id/channel-id'"})
        if errors:
            detail = "; ".join(f"{e['key']}: {e['message']}" for e in errors)
            raise ConfigError(f"invalid config for m365-knowledge-worker: {detail}", errors=errors)

    def _workers(self, ctx: StepContext | CleanupContext) -> list[Worker]:
        c = ctx.config
        return roster(ctx.deployment_id, c["workers"], c["departments"], c["tenant_domain"])

    async def run_step(self, ctx: StepContext) -> StepResult:
        if ctx.phase == "setup":
            return await self._setup(ctx)
        if ctx.phase == "simulate":
            return await self._simulate(ctx)
        raise ValueError(f"m365-knowledge-worker has no phase {ctx.phase!r}")

    async def _setup(self, ctx: StepContext) -> StepResult:
        """Create the next batch of users. Creating an existing user finds it instead, so a
        re-run batch makes no duplicates."""
        workers = self._workers(ctx)
        start = int(ctx.cursor.get("next_worker", 0))
        batch = workers[start : start + ctx.config["batch_size"]]
        dry_run = ctx.config["dry_run"]
        users = None if dry_run else graph.EntraUserManager(graph.default_graph())
        for worker in batch:
            object_id = (
                f"dry-run-{worker.index}"
                if users is None
                else await users.ensure_user(worker, ctx.deployment_id)
            )
            ctx.add_resource(
                "user",
                worker.upn,
                object_id=object_id,
                department=worker.department.value,
                dry_run=dry_run,
            )
        end = start + len(batch)
        ctx.log(
            f"Workers {start + 1}-{end} of {len(workers)} ready" + (" (dry run)" if dry_run else "")
        )
        done = end >= len(workers)
        metadata: dict[str, Any] = {"workers_ready": end}
        if done:
            metadata |= {
                "workers": len(workers),
                "dry_run": dry_run,
                "cycles": 0,
                "activity_counts": dict.fromkeys(ACTIVITY_TYPES, 0),
                "department_counts": {},
                "emails_llm": 0,
                "emails_template": 0,
            }
        return StepResult(cursor={"next_worker": end}, metadata=metadata, phase_complete=done)

    async def _simulate(self, ctx: StepContext) -> StepResult:
        config = ctx.config
        cycle = int(ctx.cursor.get("cycle", 0))
        started = (
            datetime.fromisoformat(ctx.cursor["started_at"])
            if "started_at" in ctx.cursor
            else ctx.now
        )
        if ctx.now - started >= timedelta(hours=config["duration_hours"]):
            ctx.log(f"Simulation over after {cycle} cycles")
            return StepResult(phase_complete=True)
        workers = self._workers(ctx)
        seed = str(config["seed"] or ctx.deployment_id)
        activities = simulate_minute(
            workers, cycle, ctx.now, seed, config["work_hours_start"], config["work_hours_end"]
        )
        metrics = await self._perform(ctx, workers, activities, cycle)
        counts = {kind: sum(a.kind == kind for a in activities) for kind in ACTIVITY_TYPES}
        if activities:
            ctx.log(f"Cycle {cycle + 1}: " + ", ".join(f"{n} {kind}" for kind, n in counts.items()))
        interval = timedelta(seconds=config["cycle_seconds"])
        resume_at = max(ctx.now, started + interval * (cycle + 1))
        return StepResult(
            cursor={"cycle": cycle + 1, "started_at": started.isoformat()},
            metadata=_add_up(ctx.metadata, activities, metrics, cycle + 1),
            resume_at=resume_at,
        )

    async def _perform(
        self, ctx: StepContext, workers: list[Worker], activities: list[Activity], cycle: int
    ) -> dict[str, int]:
        """Write the emails (LLM or template) and, outside a dry run, do the Graph writes."""
        config = ctx.config
        users = None if config["dry_run"] else graph.EntraUserManager(graph.default_graph())
        writer = EmailGenerator(
            ctx.llm if config["enable_llm"] else None, config["email_directive"]
        )
        limit = asyncio.Semaphore(EMAIL_CONCURRENCY)
        sources = {"llm": 0, "template": 0}

        async def email(activity: Activity) -> None:
            sender = activity.worker
            recipient = workers[(sender.index + 1 + cycle) % len(workers)]
            async with limit:
                message = await writer.generate(sender, recipient, cycle + sender.index)
                sources[message.source] += 1
                if users is not None and config["send_mail"]:
                    await users.send_mail(sender, recipient, message.subject, message.body)

        async def teams(activity: Activity) -> None:
            if users is not None and config["teams_channel"]:
                team, channel = config["teams_channel"].split("/", 1)
                async with limit:
                    await users.post_channel_message(
                        team, channel, f"{activity.worker.display_name}: update"
                    )

        await asyncio.gather(
            *(email(a) for a in activities if a.kind == "email"),
            *(teams(a) for a in activities if a.kind == "teams"),
        )
        return sources

    async def delete_resource(self, resource: Resource, ctx: CleanupContext) -> None:
        if resource.kind != "user" or resource.data.get("dry_run"):
            return
        users = graph.EntraUserManager(graph.default_graph())
        if not await users.delete_user(resource.data["object_id"]):
            ctx.log(f"User {resource.name} was already gone")


def _add_up(
    metadata: dict[str, Any], activities: list[Activity], sources: dict[str, int], cycles: int
) -> dict[str, Any]:
    totals = dict(metadata.get("activity_counts") or dict.fromkeys(ACTIVITY_TYPES, 0))
    by_department = {
        dept: dict(counts) for dept, counts in (metadata.get("department_counts") or {}).items()
    }
    for activity in activities:
        totals[activity.kind] = totals.get(activity.kind, 0) + 1
        counts = by_department.setdefault(
            activity.worker.department.value, dict.fromkeys(ACTIVITY_TYPES, 0)
        )
        counts[activity.kind] += 1
    return {
        "cycles": cycles,
        "activity_counts": totals,
        "department_counts": by_department,
        "emails_llm": int(metadata.get("emails_llm", 0)) + sources["llm"],
        "emails_template": int(metadata.get("emails_template", 0)) + sources["template"],
    }
