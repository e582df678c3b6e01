# Shared by the setup scripts (sourced, not run): messages, exit codes and --dry-run.
# The sourcing script sets USAGE_HINT (how to get its help) and may set DRY_RUN=1.
# shellcheck shell=bash

log() { printf '==> %s\n' "$*" >&2; }
warn() { printf 'warning: %s\n' "$*" >&2; }
fail() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}
usage_error() {
    printf 'error: %s\n' "$*" >&2
    printf "Run '%s' for usage.\n" "$USAGE_HINT" >&2
    exit 2
}
need_value() { [[ $# -ge 2 && -n $2 && $2 != --* ]] || usage_error "$1 needs a value"; }

# Writes go through run: printed in dry-run (one line on the original stdout, quoted so that it
# can be pasted into a shell), executed otherwise. fd 3 keeps the printout out of $(run ...).
exec 3>&1
DRY_RUN=0
quote() {
    if [[ $1 =~ ^[A-Za-z0-9_./:=@,+%-]+$ ]]; then
        printf '%s' "$1"
    else
        printf "'%s'" "${1//\'/\'\\\'\'}"
    fi
}
run() {
    if ((DRY_RUN)); then
        local line="DRY-RUN:" arg
        for arg in "$@"; do line+=" $(quote "$arg")"; done
        printf '%s\n' "$line" >&3
    else
        "$@"
    fi
}

# A missing prerequisite: an error (exit 2) for a real run, a warning for --dry-run.
problem() {
    if ((DRY_RUN)); then warn "$* (dry-run continues with placeholders)"; else usage_error "$*"; fi
}
