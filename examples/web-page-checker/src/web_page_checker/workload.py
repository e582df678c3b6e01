"""Checks `urls` in `rounds`, `batch_size` pages per durable step, then reports.

Everything a step needs comes from its inputs (config, cursor, metadata), never from memory:
a step re-run after a crash gets the same inputs and so records its pages once, whatever it
did the first time. Between rounds the step asks for a durable timer (`resume_at`) instead of
sleeping, so a stop during the wait takes effect at once and no worker sits idle.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, ClassVar

import httpx

from haymaker.errors import ConfigError
from haymaker.workloads.base import StepContext, StepResult, Workload, WorkloadError
from web_page_checker.probe import Expectation, PageCheck, check_pages

# With these, `failures` stays far below the platform's limit on metadata (32,000 characters).
MAX_URLS = 50
MAX_URL_CHARS = 200
MAX_FAILURES_IN_ERROR = 5


class WebPageCheckerWorkload(Workload):
    external_resources = False  # it only reads pages: nothing outside is created or deleted
    # Times the checks. A test that re-runs steps to prove them idempotent pins it: a page
    # never answers in exactly the same time twice.
    stopwatch: ClassVar[Callable[[], float]] = staticmethod(time.monotonic)

    @classmethod
    def check_config(cls, config: dict[str, Any]) -> None:
        errors = []
        if len(config["urls"]) > MAX_URLS:
            count = len(config["urls"])
            errors.append({"key": "urls", "message": f"at most {MAX_URLS} URLs, not {count}"})
        seen: set[str] = set()
        for index, url in enumerate(config["urls"]):
            problem = _url_problem(url) or ("is listed twice" if url in seen else None)
            seen.add(url)
            if problem:
                errors.append({"key": f"urls.{index}", "message": f"{url!r} {problem}"})
        if errors:
            detail = "; ".join(f"{e['key']}: {e['message']}" for e in errors)
            raise ConfigError(f"invalid config for {cls.manifest().name}: {detail}", errors=errors)

    async def run_step(self, ctx: StepContext) -> StepResult:
        if ctx.phase == "initialize":
            return self._initialize(ctx)
        if ctx.phase == "checking":
            return await self._check_batch(ctx)
        if ctx.phase == "report":
            return self._report(ctx)
        raise WorkloadError(f"web-page-checker has no phase {ctx.phase!r}")

    def _initialize(self, ctx: StepContext) -> StepResult:
        config = ctx.config
        ctx.log(
            f"Checking {len(config['urls'])} pages in {config['rounds']} round(s), "
            f"{config['batch_size']} per step, every {config['interval_seconds']} s"
        )
        expected = f"status {config['expect_status']}"
        if config["contains"]:
            expected += f" and the text {config['contains']!r}"
        ctx.log(f"Every page must answer with {expected} within {config['timeout_seconds']:g} s")
        return StepResult(
            metadata={
                "pages": len(config["urls"]),
                "rounds": config["rounds"],
                "rounds_completed": 0,
                "checked": 0,
                "ok": 0,
                "failed": 0,
                "failures": {},
                "slowest": None,
            },
            phase_complete=True,
        )

    async def _check_batch(self, ctx: StepContext) -> StepResult:
        config, cursor = ctx.config, ctx.cursor
        urls: list[str] = config["urls"]
        round_no = int(cursor.get("round", 1))
        start = int(cursor.get("next_index", 0))
        round_started = cursor.get("round_started_at") or ctx.now.isoformat()
        if start == 0:
            ctx.log(f"Round {round_no}/{config['rounds']} started")

        batch = urls[start : start + config["batch_size"]]
        checks = await check_pages(batch, _expectation(config), self.stopwatch)
        for check in checks:
            _log_check(ctx, round_no, check)
        metadata = _tally(ctx.metadata, round_no, checks)
        total = len(urls) * config["rounds"]  # what `haymaker deploy --wait` shows
        metadata["progress"] = {"done": metadata["checked"], "total": total, "unit": "checks"}
        passed = sum(check.ok for check in checks)
        round_ok = int(cursor.get("round_ok", 0)) + passed
        round_failed = int(cursor.get("round_failed", 0)) + len(checks) - passed

        end = start + len(checks)
        if end < len(urls):
            return StepResult(
                cursor={
                    "round": round_no,
                    "next_index": end,
                    "round_started_at": round_started,
                    "round_ok": round_ok,
                    "round_failed": round_failed,
                },
                metadata=metadata,
            )
        ctx.log(f"Round {round_no}/{config['rounds']} done: {round_ok} ok, {round_failed} failed")
        metadata["rounds_completed"] = round_no
        if round_no >= config["rounds"]:
            return StepResult(metadata=metadata, phase_complete=True)
        # Rounds start a fixed interval apart; one that overran its interval is followed at once.
        next_start = datetime.fromisoformat(round_started) + timedelta(
            seconds=config["interval_seconds"]
        )
        resume_at = next_start if next_start > ctx.now else None
        if resume_at:
            ctx.log(f"Round {round_no + 1} starts at {resume_at.isoformat()}")
        return StepResult(
            cursor={"round": round_no + 1, "next_index": 0},
            metadata=metadata,
            resume_at=resume_at,
        )

    def _report(self, ctx: StepContext) -> StepResult:
        meta = ctx.metadata
        checked, ok, failed = (int(meta.get(key, 0)) for key in ("checked", "ok", "failed"))
        failures: dict[str, dict[str, Any]] = meta.get("failures") or {}
        slowest = meta.get("slowest")
        ctx.log(
            f"Checked {checked} pages in {meta.get('rounds_completed', 0)} round(s): "
            f"{ok} ok, {failed} failed"
        )
        if slowest:
            ctx.log(
                f"Slowest answer: {slowest['url']} in {slowest['elapsed_ms']} ms "
                f"(round {slowest['round']})"
            )
        for url, failure in failures.items():
            ctx.log(
                f"{url} failed {failure['count']} time(s); last in round {failure['round']}: "
                f"{failure['reason']}",
                "warning",
            )
        if failed and ctx.config["fail_on_error"]:
            shown = [f"{url}: {f['reason']}" for url, f in failures.items()]
            more = len(shown) - MAX_FAILURES_IN_ERROR
            raise WorkloadError(
                f"{failed} of {checked} page checks failed: "
                + "; ".join(shown[:MAX_FAILURES_IN_ERROR])
                + (f"; and {more} more pages" if more > 0 else "")
            )
        summary = {
            "checked": checked,
            "ok": ok,
            "failed": failed,
            "failing_pages": len(failures),
            "slowest": slowest,
        }
        return StepResult(
            metadata={"summary": summary, "healthy": failed == 0}, phase_complete=True
        )


def _url_problem(url: str) -> str | None:
    if len(url) > MAX_URL_CHARS:
        return f"is longer than {MAX_URL_CHARS} characters"
    if any(char.isspace() for char in url):
        return "contains white space"
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        return f"is not a valid URL ({exc})"
    if parsed.scheme not in ("http", "https"):
        return "is not an http:// or https:// URL"
    if not parsed.host:
        return "has no host"
    return None


def _expectation(config: dict[str, Any]) -> Expectation:
    return Expectation(
        status=config["expect_status"],
        contains=config["contains"],
        timeout_seconds=config["timeout_seconds"],
        follow_redirects=config["follow_redirects"],
    )


def _log_check(ctx: StepContext, round_no: int, check: PageCheck) -> None:
    if check.ok:
        via = f" (via redirect to {check.final_url})" if check.final_url else ""
        ctx.log(f"OK {check.url}: {check.status} in {check.elapsed_ms} ms{via}")
    else:
        ctx.log(
            f"FAILED {check.url} (round {round_no}, {check.elapsed_ms} ms): {check.reason}",
            "warning",
        )


def _tally(previous: dict[str, Any], round_no: int, checks: list[PageCheck]) -> dict[str, Any]:
    """The run's totals after `checks`, from the totals before them (the step's input metadata,
    so a re-run step counts its pages once). `failures` keeps the last failure of each page."""
    failures = dict(previous.get("failures") or {})
    slowest = previous.get("slowest")
    for check in checks:
        if not check.ok:
            failures[check.url] = {
                "round": round_no,
                "status": check.status,
                "reason": check.reason,
                "elapsed_ms": check.elapsed_ms,
                "count": int(failures.get(check.url, {}).get("count", 0)) + 1,
            }
        answered = check.status is not None
        if answered and (slowest is None or check.elapsed_ms > slowest["elapsed_ms"]):
            slowest = {"url": check.url, "elapsed_ms": check.elapsed_ms, "round": round_no}
    passed = sum(check.ok for check in checks)
    return {
        "checked": int(previous.get("checked", 0)) + len(checks),
        "ok": int(previous.get("ok", 0)) + passed,
        "failed": int(previous.get("failed", 0)) + len(checks) - passed,
        "failures": failures,
        "slowest": slowest,
    }
