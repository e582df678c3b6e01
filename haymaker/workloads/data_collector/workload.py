"""Collects `item_count` items in batches, one batch per durable step, then reports.

With `approve_before_report`, the report phase first asks a person (an approval that times
out as a rejection after `approval_timeout_seconds`); the report is written once approved.

With `enable_llm`, a failed item is shown to the LLM, which answers SKIP or recovered data as
JSON, and the report asks it whether the goal was met. Failures are injected by
`failure_rate`, seeded by the deployment id, so the same items fail on every run and every
replay of a step.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field, ValidationError

from haymaker.workloads.base import StepContext, StepResult, Workload

if TYPE_CHECKING:
    from haymaker.approvals import Decision

REPORT_APPROVAL = "report"
FAILURES = ("the source timed out", "checksum mismatch", "the source throttled the request")
RECOVERY_SYSTEM = "You are a data collection assistant. Be concise."


class RecoveredItem(BaseModel):
    """What the LLM must return to recover an item."""

    data: str = Field(min_length=1, max_length=2000)


def goal(config: dict[str, Any]) -> str:
    return config.get("goal") or f"Collect {config['item_count']} data items"


class DataCollectorWorkload(Workload):
    external_resources = False  # its items are records in the platform's own table

    async def run_step(self, ctx: StepContext) -> StepResult:
        if ctx.phase == "initialize":
            return self._initialize(ctx)
        if ctx.phase == "collecting":
            return await self._collect_batch(ctx)
        if ctx.phase == "report":
            return await self._report(ctx)
        raise ValueError(f"data-collector has no phase {ctx.phase!r}")

    def _initialize(self, ctx: StepContext) -> StepResult:
        ctx.log(f"Goal: {goal(ctx.config)}")
        ctx.log(f"Target: {ctx.config['item_count']} items")
        if ctx.config["enable_llm"]:
            ctx.log("LLM assistance enabled: failed items go to the LLM for recovery")
        ctx.log("Initialization complete")
        return StepResult(
            metadata={
                "goal": goal(ctx.config),
                "item_count": ctx.config["item_count"],
                "items_collected": 0,
                "items_failed": 0,
                "items_recovered": 0,
                "goal_achieved": False,
            },
            phase_complete=True,
        )

    async def _collect_batch(self, ctx: StepContext) -> StepResult:
        target = ctx.config["item_count"]
        start = int(ctx.cursor.get("next_index", 0))
        counts = {
            name: int(ctx.cursor.get(name, 0)) for name in ("collected", "failed", "recovered")
        }
        end = min(target, start + ctx.config["batch_size"])
        delay = ctx.config["item_delay_ms"] / 1000
        for index in range(start, end):
            if delay:
                await asyncio.sleep(delay)
            item_id = f"item-{index:04d}"
            failure = self._failure(ctx, index)
            if failure is None:
                self._keep(ctx, index, item_id, f"sample-data-{index}")
                ctx.log(f"Collected item {index + 1}/{target}: {item_id}")
                counts["collected"] += 1
                continue
            recovered = (
                await self._recover(ctx, index, failure) if ctx.config["enable_llm"] else None
            )
            if recovered is None:
                ctx.log(f"Item {index + 1}/{target} failed ({failure}); skipped", "warning")
                counts["failed"] += 1
                continue
            self._keep(ctx, index, item_id, recovered, recovered_from=failure)
            ctx.log(f"Recovered item {index + 1}/{target}: {item_id} (after: {failure})")
            counts["collected"] += 1
            counts["recovered"] += 1
        done = end >= target
        if done:
            ctx.log(f"Collection complete: {counts['collected']} items, {counts['failed']} failed")
        return StepResult(
            cursor={"next_index": end, **counts},
            metadata={
                "items_collected": counts["collected"],
                "items_failed": counts["failed"],
                "items_recovered": counts["recovered"],
            },
            phase_complete=done,
        )

    @staticmethod
    def _keep(ctx: StepContext, index: int, item_id: str, data: str, **extra: str) -> None:
        ctx.add_resource(
            "item",
            item_id,
            data=data,
            checksum=hashlib.sha256(f"{ctx.deployment_id}/{index}".encode()).hexdigest()[:16],
            collected_at=ctx.now.isoformat(),
            **extra,
        )

    @staticmethod
    def _failure(ctx: StepContext, index: int) -> str | None:
        rate = ctx.config["failure_rate"]
        if not rate:
            return None
        draw = random.Random(f"{ctx.deployment_id}:{index}")
        return draw.choice(FAILURES) if draw.random() < rate else None

    async def _recover(self, ctx: StepContext, index: int, failure: str) -> str | None:
        from haymaker.llm import LLMMessage

        prompt = (
            f"Error collecting item {index}: {failure}\n"
            f"Goal: {goal(ctx.config)}\n"
            "Should I skip this item or recover it? Reply SKIP, or reply with only a JSON object "
            'like {"data": "<recovered value>"}.'
        )
        response = await ctx.llm().complete(
            [LLMMessage(role="user", content=prompt)], system=RECOVERY_SYSTEM, max_tokens=200
        )
        answer = response.content.strip()
        if answer.upper().startswith("SKIP"):
            ctx.log(f"LLM advised skipping item {index + 1}")
            return None
        try:
            return RecoveredItem.model_validate(json.loads(answer)).data
        except (ValueError, ValidationError):
            ctx.log(
                f"LLM answer for item {index + 1} was not usable recovery JSON; skipped", "warning"
            )
            return None

    async def _report(self, ctx: StepContext) -> StepResult:
        collected = int(ctx.metadata.get("items_collected", 0))
        target = ctx.config["item_count"]
        if ctx.config["approve_before_report"]:
            if not ctx.cursor.get("asked"):
                return self._ask_to_report(ctx, collected, target)
            decision = ctx.approval(REPORT_APPROVAL)
            if decision is None or decision.decision != "approve":
                return self._report_refused(ctx, decision)
        achieved = collected >= target
        ctx.log(f"Items collected: {collected}")
        ctx.log(f"Goal achieved: {achieved}")
        metadata: dict[str, object] = {"goal_achieved": achieved}
        if ctx.config["approve_before_report"]:
            metadata["report_approved"] = True
        if ctx.config["enable_llm"]:
            from haymaker.llm import LLMMessage

            question = (
                f"Goal: {goal(ctx.config)}\nItems collected: {collected}\nTarget: {target}\n"
                f"Items recovered with your help: {ctx.metadata.get('items_recovered', 0)}\n"
                "Was the goal achieved? Answer in one sentence."
            )
            response = await ctx.llm().complete(
                [LLMMessage(role="user", content=question)], max_tokens=100
            )
            evaluation = " ".join(response.content.split())[:500]
            metadata["llm_evaluation"] = evaluation
            ctx.log(f"LLM evaluation: {evaluation}")
        return StepResult(metadata=metadata, phase_complete=True)

    @staticmethod
    def _ask_to_report(ctx: StepContext, collected: int, target: int) -> StepResult:
        from haymaker.approvals import ApprovalRequest

        ctx.log("Asking for approval before the report")
        return StepResult(
            cursor={"asked": True},
            approval=ApprovalRequest(
                key=REPORT_APPROVAL,
                question=f"Collected {collected} of {target} items: write the report?",
                payload={
                    "items_collected": collected,
                    "item_count": target,
                    "items_failed": int(ctx.metadata.get("items_failed", 0)),
                    "llm_evaluation": ctx.config["enable_llm"],
                },
                timeout_seconds=ctx.config["approval_timeout_seconds"],
                on_timeout="reject",
            ),
        )

    @staticmethod
    def _report_refused(ctx: StepContext, decision: Decision | None) -> StepResult:
        if decision is None:  # not expected: the platform hands every decision over
            ctx.log("No decision on the report was found; no report", "warning")
        else:
            by = "on timeout" if decision.timed_out else f"by {decision.decided_by}"
            said = f": {decision.comment}" if decision.comment else ""
            ctx.log(f"Report not approved ({decision.decision} {by}{said}); no report", "warning")
        return StepResult(metadata={"report_approved": False}, phase_complete=True)
