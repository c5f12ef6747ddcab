#!/usr/bin/env bash
# Sets up what the AWS-side tests need: a project-local virtualenv with moto's server, which the
# test harness starts on a free loopback port; cfn-lint with the serverless rules and the SAM CLI,
# which check infra/template.yaml (`sam validate` runs SAM's transform offline); cargo-lambda,
# which runs the functions locally (scripts/lambda-smoke.sh) and builds them (scripts/sam-build);
# and what the console's browser suite needs: Playwright for Python and axe-core
# (axe-playwright-python ships it) in the same virtualenv, driving Debian's Chromium, which is
# installed with apt-get when missing (Playwright's own browser download is not used).
# Safe to run again: it only installs what is missing. Everything but Chromium comes from PyPI
# into .venv/: moto and cfn-lint about 100 MB, the SAM CLI about 150 MB, cargo-lambda with its
# zig toolchain about 450 MB, Playwright about 170 MB; each download is shown as it starts, with a
# line every 30 s during long ones.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$root/scripts/lib.sh"
venv="$root/.venv"
moto_spec='moto[server]==5.*'
cfn_lint_specs=('cfn-lint==1.*' 'cfn-lint-serverless==0.3.*')
sam_spec='aws-sam-cli==1.*'
cargo_lambda_spec='cargo-lambda==1.*'

# Installs `spec` when `check` (a Python snippet that exits 0 when it is there) says it is not.
ensure() {
    local what="$1" spec="$2" check="$3"
    if "$venv/bin/python" -c "$check" 2>/dev/null; then
        echo "$what already installed in $venv"
    else
        echo "installing $spec into $venv (from PyPI)"
        pip_install "$venv/bin/python" "$spec"
    fi
}

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

ensure "SAM CLI" "$sam_spec" 'import importlib.metadata as m, sys; sys.exit(0 if m.version("aws-sam-cli").startswith("1.") else 1)'
test -x "$venv/bin/sam" || { echo "sam missing from $venv/bin" >&2; exit 1; }
echo "ok: $venv/bin/sam ($("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("aws-sam-cli"))'))"

ensure "cargo-lambda" "$cargo_lambda_spec" 'import importlib.metadata as m, sys; sys.exit(0 if m.version("cargo-lambda").startswith("1.") else 1)'
test -x "$venv/bin/cargo-lambda" || { echo "cargo-lambda missing from $venv/bin" >&2; exit 1; }
echo "ok: $venv/bin/cargo-lambda"

browser_specs=('playwright==1.*' 'axe-playwright-python==0.1.*' 'pytest==8.*')
if "$venv/bin/python" - <<'PY' 2>/dev/null
import importlib.metadata as m, sys
sys.exit(0 if all(m.version(p) for p in ("playwright", "axe-playwright-python", "pytest")) else 1)
PY
then
    echo "playwright $("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("playwright"))') and axe-core already installed in $venv"
else
    pip_install "$venv/bin/python" "${browser_specs[@]}"
fi

# schemathesis: docs/openapi.yaml against a live server (scripts/schemathesis).
ensure "schemathesis" 'schemathesis==4.*' 'import importlib.metadata as m, sys; sys.exit(0 if m.version("schemathesis").startswith("4.") else 1)'
test -x "$venv/bin/st" || { echo "schemathesis (st) missing from $venv/bin" >&2; exit 1; }
echo "ok: $venv/bin/st"

# curl and jq: docs/try-it.md uses them, and tests/readme.rs runs it.
for tool in curl jq; do
    if ! command -v "$tool" >/dev/null; then
        if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
            echo "installing Debian's $tool (apt-get)"
            apt-get update -qq
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$tool" >/dev/null
        else
            echo "$tool is missing: install it (sudo apt-get install $tool)" >&2
            exit 1
        fi
    fi
    echo "ok: $(command -v "$tool")"
done

chromium="${SPORTELLO_CHROMIUM:-/usr/bin/chromium}"
if [[ ! -x "$chromium" ]]; then
    if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
        echo "installing Debian's chromium (apt-get)"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    else
        echo "Chromium is missing at $chromium: install Debian's package (sudo apt-get install chromium)" \
             "or point SPORTELLO_CHROMIUM at a Chromium binary" >&2
        exit 1
    fi
fi
echo "ok: $("$chromium" --version 2>/dev/null || echo "$chromium")"
