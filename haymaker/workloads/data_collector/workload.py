"""Collects `item_count` items in batches, one batch per durable step, then reports."""

from __future__ import annotations

import asyncio
import hashlib

from haymaker.workloads.base import StepContext, StepResult, Workload


class DataCollectorWorkload(Workload):
    async def run_step(self, ctx: StepContext) -> StepResult:
        if ctx.phase == "initialize":
            return self._initialize(ctx)
        if ctx.phase == "collecting":
            return await self._collect_batch(ctx)
        if ctx.phase == "report":
            return self._report(ctx)
        raise ValueError(f"data-collector has no phase {ctx.phase!r}")

    def _initialize(self, ctx: StepContext) -> StepResult:
        ctx.log(f"Goal: {ctx.config['goal']}")
        ctx.log(f"Target: {ctx.config['item_count']} items")
        ctx.log("Initialization complete")
        return StepResult(
            metadata={
                "goal": ctx.config["goal"],
                "item_count": ctx.config["item_count"],
                "items_collected": 0,
                "goal_achieved": False,
            },
            phase_complete=True,
        )

    async def _collect_batch(self, ctx: StepContext) -> StepResult:
        target = ctx.config["item_count"]
        start = int(ctx.cursor.get("next_index", 0))
        end = min(target, start + ctx.config["batch_size"])
        delay = ctx.config["item_delay_ms"] / 1000
        for index in range(start, end):
            if delay:
                await asyncio.sleep(delay)
            item_id = f"item-{index:04d}"
            ctx.add_resource(
                "item",
                item_id,
                data=f"sample-data-{index}",
                checksum=hashlib.sha256(f"{ctx.deployment_id}/{index}".encode()).hexdigest()[:16],
                collected_at=ctx.now.isoformat(),
            )
            ctx.log(f"Collected item {index + 1}/{target}: {item_id}")
        done = end >= target
        if done:
            ctx.log(f"Collection complete: {end} items")
        return StepResult(
            cursor={"next_index": end},
            metadata={"items_collected": end},
            phase_complete=done,
        )

    def _report(self, ctx: StepContext) -> StepResult:
        collected = int(ctx.metadata.get("items_collected", 0))
        achieved = collected >= ctx.config["item_count"]
        ctx.log(f"Items collected: {collected}")
        ctx.log(f"Goal achieved: {achieved}")
        return StepResult(metadata={"goal_achieved": achieved}, phase_complete=True)
