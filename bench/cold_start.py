"""Cold start of the Functions app: `import function_app` against the bare
`azure.functions` + `azure.durable_functions` import every Python function app pays.

Each figure is the median of 7 fresh interpreters. CPU time (user + system of the child) is
the primary figure, as it is steady on a shared machine; wall time is printed beside it.
Goal: ratio <= 1.3.

    python bench/cold_start.py [--runs 7]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOAL = 1.3
BARE = "import azure.functions, azure.durable_functions"
APP = "import function_app"


def one_import(statement: str) -> tuple[float, float]:
    """(cpu seconds, wall seconds) of a fresh interpreter running `statement`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", statement],
        cwd=ROOT,
        check=True,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall


def median_import(statement: str, runs: int) -> tuple[float, float]:
    samples = [one_import(statement) for _ in range(runs)]
    return (
        statistics.median(cpu for cpu, _ in samples),
        statistics.median(wall for _, wall in samples),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs
    one_import(APP)  # compile bytecode once, so no run pays for it
    bare_cpu, bare_wall = median_import(BARE, runs)
    app_cpu, app_wall = median_import(APP, runs)
    ratio = app_cpu / bare_cpu
    print(
        f"bare azure.functions + azure.durable_functions: {bare_cpu * 1000:.0f} ms cpu, "
        f"{bare_wall * 1000:.0f} ms wall"
    )
    print(f"import function_app: {app_cpu * 1000:.0f} ms cpu, {app_wall * 1000:.0f} ms wall")
    print(f"cold-import ratio (cpu): {ratio:.2f} (goal <= {GOAL}); wall {app_wall / bare_wall:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
