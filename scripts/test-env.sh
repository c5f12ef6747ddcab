#!/usr/bin/env bash
# Sets up what the AWS-side tests need: a project-local virtualenv with moto's server, which the
# test harness starts on a free loopback port, and cfn-lint with the serverless rules, which check
# infra/template.yaml. Safe to run again: it only installs what is missing.
#
#   scripts/test-env.sh                   moto and cfn-lint (about 100 MB in .venv)
#   scripts/test-env.sh --cargo-lambda    and cargo-lambda with its zig toolchain (about 450 MB in
#                                         .venv), for the Lambda smoke run and the benchmarks
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$root/scripts/lib.sh"
venv="$root/.venv"
moto_spec='moto[server]==5.*'
cfn_lint_specs=('cfn-lint==1.*' 'cfn-lint-serverless==0.3.*')

if [[ ! -x "$venv/bin/python" ]]; then
    echo "creating $venv"
    python3 -m venv "$venv"
fi

if "$venv/bin/python" - <<'PY' 2>/dev/null
import importlib.metadata as m, sys
v = m.version("moto")
sys.exit(0 if v.startswith("5.") and m.version("flask") else 1)
PY
then
    echo "moto $("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("moto"))') already installed in $venv"
else
    echo "installing $moto_spec into $venv (from PyPI)"
    pip_install "$venv/bin/python" "$moto_spec"
fi

test -x "$venv/bin/moto_server" || { echo "moto_server missing from $venv/bin" >&2; exit 1; }
echo "ok: $venv/bin/moto_server"

if "$venv/bin/python" - <<'PY' 2>/dev/null
import importlib.metadata as m, sys
sys.exit(0 if m.version("cfn-lint").startswith("1.") and m.version("cfn-lint-serverless") else 1)
PY
then
    echo "cfn-lint $("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("cfn-lint"))') already installed in $venv"
else
    echo "installing ${cfn_lint_specs[*]} into $venv (from PyPI)"
    pip_install "$venv/bin/python" "${cfn_lint_specs[@]}"
fi

test -x "$venv/bin/cfn-lint" || { echo "cfn-lint missing from $venv/bin" >&2; exit 1; }
echo "ok: $venv/bin/cfn-lint"

if [[ "${1:-}" == "--cargo-lambda" ]]; then
    if [[ -x "$venv/bin/cargo-lambda" ]]; then
        echo "$("$venv/bin/cargo-lambda" --version) already installed in $venv"
    else
        echo "installing cargo-lambda with zig into $venv (from PyPI; about 450 MB with its zig toolchain)"
        pip_install "$venv/bin/python" cargo-lambda
    fi
    echo "ok: $venv/bin/cargo-lambda"
fi
