#!/usr/bin/env bash
# Smoke test of the Lambda functions as Lambda runs them: `cargo lambda watch` emulates the
# runtime API, the functions run against moto (DynamoDB, SQS, SES), and `cargo lambda invoke`
# sends them the real-shaped events of tests/fixtures/events/ as invoke.txt lists them.
#
# Every function (every binary of every crate under functions/) must appear in invoke.txt: a new
# function is picked up from there. Everything started here is stopped on exit. SMOKE_TIMEOUT bounds the whole run (s).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
events="$root/tests/fixtures/events"
mapping="$events/invoke.txt"
venv="$root/.venv"
deadline=$(( $(date +%s) + ${SMOKE_TIMEOUT:-1200} ))

source "$root/scripts/lib.sh"
# The virtualenv with moto and cargo-lambda (installed, with progress, on the first run).
scripts/test-env.sh
export PATH="$venv/bin:$PATH"
py="$venv/bin/python"
helper="$root/scripts/lambda_smoke.py"

work="$(mktemp -d)"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do
        # Each was started in its own process group (setsid): stop the group, then wait.
        kill -TERM -- "-$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
remaining() { echo $(( deadline - $(date +%s) )); }
fail() { echo "lambda-smoke: $*" >&2; exit 1; }

# --- the functions, and the mapping ---------------------------------------------------------
# A function is a binary: a crate's `[[bin]]` names, or its package name when it declares none.
binaries_of() {
    local bins
    bins="$(awk '/^\[\[bin\]\]/{b=1; next} /^\[/{b=0} b && /^name = /{gsub(/"/, "", $3); print $3}' "$1")"
    if [[ -n "$bins" ]]; then echo "$bins"; else package_name "$1"; fi
}
functions=()
declare -A crate_of
for manifest in functions/*/Cargo.toml; do
    [[ -f "$manifest" ]] || continue
    while read -r bin; do
        functions+=("$bin")
        crate_of[$bin]="$(dirname "$manifest")"
    done < <(binaries_of "$manifest")
done
(( ${#functions[@]} > 0 )) || fail "no function under functions/"
mapfile -t lines < <(grep -v '^[[:space:]]*\(#\|$\)' "$mapping")
mapped=()
for line in "${lines[@]}"; do
    read -r f _ <<<"$line"
    mapped+=("$f")
    contains "$f" "${functions[@]}" || fail "$mapping names $f, which is not under functions/"
done
for f in "${functions[@]}"; do
    contains "$f" "${mapped[@]}" || fail "$f has no line in $mapping"
done

# --- moto, with the table and the step queue ------------------------------------------------
moto_port="$(free_port)"
setsid "$py" "$helper" moto "$moto_port" >"$work/moto.log" 2>&1 &
pids+=($!)
endpoint="http://127.0.0.1:$moto_port"
until curl -sf "$endpoint/moto-api/" >/dev/null; do
    (( $(remaining) > 0 )) || fail "moto did not start: $(tail -5 "$work/moto.log")"
    sleep 0.2
done
tag="smoke-$$"
queue_url="$("$py" "$helper" provision "$endpoint" "sportello-$tag" "steps-$tag")"
echo "moto on $endpoint; table sportello-$tag; queue $queue_url"

cat >"$work/env" <<EOF
SPORTELLO_TABLE=sportello-$tag
SPORTELLO_STEP_QUEUE_URL=$queue_url
SPORTELLO_STEP_DLQ_URL=$queue_url-dlq
SPORTELLO_RULES=$root/rules
SMITHY_CLIENT_SDK_CUSTOM_PARTITION=$root/infra/sdk-layer/aws-partitions/aws.json
SPORTELLO_API_KEYS=$work/no-keys.json
SPORTELLO_IAM_CLIENTS="arn:aws:sts::123456789012:assumed-role/telephony-platform/telephony=voice"
SPORTELLO_MAIL_TOKEN_SHA256=$(printf %s test-mail-gateway-secret | sha256sum | cut -d' ' -f1)
SPORTELLO_OIDC_ISSUER=http://127.0.0.1:9
SPORTELLO_OIDC_CLIENT_ID=sportello-console
SPORTELLO_CONSOLE_SESSION_KEY=smoke-test-console-session-key-32-bytes-or-more
SPORTELLO_CONSOLE_URL=https://abc123defg.execute-api.eu-south-1.amazonaws.com
AWS_ENDPOINT_URL=$endpoint
AWS_REGION=eu-south-1
AWS_ACCESS_KEY_ID=testing
AWS_SECRET_ACCESS_KEY=testing
EOF

# --- the functions, built first, then one `cargo lambda watch` each ---------------------------
packages=()
for dir in functions/*/; do packages+=(-p "$(package_name "$dir/Cargo.toml")"); done
echo "building ${functions[*]} (cargo build, into target/)"
with_progress "building the functions" timeout "$(remaining)" cargo build "${packages[@]}" \
    || fail "the functions did not build within the time left (SMOKE_TIMEOUT)"
# A watcher per crate, serving each of its binaries by name: `cargo run --bin` from the workspace
# root sees only the root package.
declare -A crate_port
for dir in functions/*/; do
    dir="${dir%/}"
    crate_port[$dir]="$(free_port)"
    setsid cargo lambda watch --manifest-path "$dir/Cargo.toml" --invoke-address 127.0.0.1 \
        --invoke-port "${crate_port[$dir]}" --env-file "$work/env" --ignore-changes --quiet \
        >"$work/watch-$(basename "$dir").log" 2>&1 &
    pids+=($!)
done
declare -A ports
for f in "${functions[@]}"; do ports[$f]="${crate_port[${crate_of[$f]}]}"; done
echo "starting cargo lambda watch for ${#crate_port[@]} crates"
for dir in "${!crate_port[@]}"; do
    until "$py" -c "import socket; socket.create_connection(('127.0.0.1', ${crate_port[$dir]}), 1)" 2>/dev/null; do
        (( $(remaining) > 0 )) || fail "cargo lambda watch ($dir) did not start: $(tail -20 "$work/watch-$(basename "$dir").log")"
        sleep 0.5
    done
done
echo "cargo lambda watch: $(for f in "${functions[@]}"; do printf '%s on %s  ' "$f" "${ports[$f]}"; done)"

# --- the invocations ------------------------------------------------------------------------
n=0
for line in "${lines[@]}"; do
    read -r f event rest <<<"$line"
    read -r -a expects <<<"$rest"
    data="$events/$event"
    [[ -f "$data" ]] || fail "no event file $data"
    if [[ "${expects[0]:-}" == "from-table" ]]; then
        expects=("${expects[@]:1}")
        "$py" "$helper" from-table "$endpoint" "sportello-$tag" "$data" "$work/stored.json"
        data="$work/stored.json"
    fi
    n=$((n + 1))
    left="$(remaining)"
    (( left > 0 )) || fail "out of time before $f $event"
    # Built already: the first call only starts the process (and its cold start).
    if ! timeout "$(( left < 180 ? left : 180 ))" cargo lambda invoke "$f" --invoke-address 127.0.0.1 --invoke-port "${ports[$f]}" \
        --data-file "$data" --output-format json >"$work/response.json" 2>"$work/invoke.err"; then
        echo "--- watch log"; tail -40 "$work/watch-$(basename "${crate_of[$f]}").log"
        fail "$f $event: invoke failed: $(cat "$work/invoke.err" "$work/response.json")"
    fi
    "$py" "$helper" check "$work/response.json" "${expects[@]}" || {
        echo "--- watch log"; tail -40 "$work/watch-$(basename "${crate_of[$f]}").log"
        fail "$f $event"
    }
    echo "ok $n: $f $event ${expects[*]}"
done
echo "lambda-smoke: $n invocations of ${#functions[@]} functions passed"
