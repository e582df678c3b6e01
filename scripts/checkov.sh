#!/usr/bin/env bash
# Offline policy scan of the Bicep templates with checkov.
#
# Usage: scripts/checkov.sh [DIR]      (DIR defaults to infra)
#   CHECKOV=path/to/checkov overrides the binary (default .venv-tools/bin/checkov; checkov
#   pins pycep-parser 0.5.1, so it lives in its own virtualenv).
#
# Fails when
#   - any check failed that is not skipped inline (`// checkov:skip=CKV_...: reason`),
#   - an inline skip gives no reason,
#   - checkov could not parse a file: it skips such a file silently and still exits 0, so
#     the JSON summary's parsing_errors is the only trace of it.
set -euo pipefail

cd "$(dirname "$0")/.."
repo=$PWD
checkov=${CHECKOV:-.venv-tools/bin/checkov}
target=${1:-infra}
[[ $checkov == /* ]] || checkov="$repo/$checkov"
[[ $target == /* ]] || target="$repo/$target"

if [[ ! -x $checkov ]]; then
    echo "checkov not found at $checkov" >&2
    echo "install it: python3 -m venv .venv-tools && .venv-tools/bin/pip install checkov==3.3.30" >&2
    exit 2
fi
if [[ ! -d $target ]]; then
    echo "no directory $target" >&2
    exit 2
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

failed=0

unexplained=$(grep -rnE --include='*.bicep' 'checkov:skip=' "$target" |
    grep -vE 'checkov:skip=CKV2?_[A-Z0-9_]+:[[:space:]]*[^[:space:]]' || true)
if [[ -n $unexplained ]]; then
    echo "inline checkov skips without a reason (write '// checkov:skip=CKV_X: why'):" >&2
    echo "$unexplained" >&2
    failed=1
fi

# Run from an empty directory: checkov reads .checkov.yaml from its working directory, and
# a stray one there could skip checks without a trace in the templates.
status=0
(
    cd "$work"
    "$checkov" -d "$target" --framework bicep --skip-download --quiet --compact \
        -o cli -o json --output-file-path "$work/out"
) >"$work/checkov.log" 2>&1 || status=$?

if ((status > 1)) || [[ ! -s $work/out/results_json.json ]]; then
    echo "checkov did not run to completion (exit $status):" >&2
    cat "$work/checkov.log" >&2
    exit 2
fi

cat "$work/out/results_cli.txt"

summary_status=0
python3 - "$work/out/results_json.json" <<'PY' || summary_status=$?
import json
import sys

with open(sys.argv[1], encoding="utf-8") as handle:
    report = json.load(handle)
reports = report if isinstance(report, list) else [report]
summary = {"failed": 0, "parsing_errors": 0, "resource_count": 0}
for one in reports:
    for key in summary:
        summary[key] += one.get("summary", {}).get(key, 0)
problems = []
if summary["failed"]:
    problems.append(f"{summary['failed']} failed check(s) not skipped inline")
if summary["parsing_errors"]:
    problems.append(f"{summary['parsing_errors']} file(s) checkov could not parse and did not check")
if not summary["resource_count"]:
    problems.append("checkov found no resources to check")
for problem in problems:
    print(f"checkov.sh: {problem}", file=sys.stderr)
sys.exit(1 if problems else 0)
PY

if ((summary_status == 1)); then
    failed=1
    # Name the files checkov's own parser (pycep-parser 0.5.1) rejects.
    checkov_python=$(dirname "$checkov")/python
    if [[ -x $checkov_python ]]; then
        find "$target" -name '*.bicep' -print0 | sort -z |
            xargs -0 "$checkov_python" -c '
import sys
from pathlib import Path
from pycep import BicepParser
for name in sys.argv[1:]:
    try:
        BicepParser().parse(file_path=Path(name))
    except Exception as error:
        first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
        print(f"  not parsed by checkov: {name}: {first_line}", file=sys.stderr)
' || true
    fi
elif ((summary_status != 0)); then
    echo "could not read checkov's JSON report" >&2
    exit 2
fi

if ((failed)); then
    echo "checkov.sh: FAILED" >&2
    exit 1
fi
echo "checkov.sh: OK (no unskipped failures, every skip explained, every file parsed)"
