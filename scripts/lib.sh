# Shell helpers the scripts source. Under `set -o pipefail`, a pipe whose reader stops early
# (`grep -q`, `head`) can kill its writer with SIGPIPE and fail the whole line at random on a
# busy machine: these helpers use no such pipe.

# Whether $1 is one of the remaining arguments.
contains() {
    local wanted="$1" item
    shift
    for item in "$@"; do
        [[ "$item" == "$wanted" ]] && return 0
    done
    return 1
}

# Cargo's build folder for the project at $1: CARGO_TARGET_DIR when set (a relative one is taken
# from the project, where the scripts run cargo), else its target/.
target_dir() {
    local dir="${CARGO_TARGET_DIR:-target}"
    [[ "$dir" == /* ]] || dir="$1/$dir"
    printf '%s\n' "$dir"
}

# The package name a Cargo.toml declares (its first `name = "..."`).
package_name() {
    sed -n 's/^name = "\(.*\)"/\1/p;T;q' "$1"
}

# Runs "$@", printing "  ... still <what> (N s)" every 30 s while it runs: some steps (a 400 MB
# download, a cold build) are otherwise silent for minutes.
with_progress() {
    local what="$1" status=0 ticker
    shift
    (
        start=$SECONDS
        while sleep 30 && kill -0 "$$" 2>/dev/null; do
            echo "  ... still $what ($((SECONDS - start)) s)"
        done
    ) &
    ticker=$!
    "$@" || status=$?
    kill "$ticker" 2>/dev/null || true
    wait "$ticker" 2>/dev/null || true
    return "$status"
}

# pip install into the virtualenv whose python is $1, showing each download as it starts and a
# heartbeat during long ones; on failure, pip's last lines.
pip_install() {
    local python="$1" log status=0 pid
    shift
    log="$(mktemp)"
    "$python" -m pip install --disable-pip-version-check --progress-bar off "$@" >"$log" 2>&1 &
    pid=$!
    with_progress "installing $*" follow_pip "$log" "$pid"
    wait "$pid" || status=$?
    if ((status != 0)); then
        echo "pip failed ($status); its last lines:" >&2
        tail -n 30 "$log" >&2
    fi
    rm -f "$log"
    return "$status"
}

# pip's log as it grows, until process $2 ends: the downloads and the result. sed reads every
# line, so the pipe cannot SIGPIPE.
follow_pip() {
    tail -n +1 -f --pid="$2" "$1" | sed -un 's/^ *\(Downloading .*\|Successfully installed .*\|ERROR: .*\)/  \1/p'
}
