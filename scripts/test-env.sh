#!/usr/bin/env bash
# Sets up what the AWS-side tests need: a project-local virtualenv with moto's server, which the
# test harness starts on a free loopback port. Safe to run again: it only installs what is missing.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
moto_spec='moto[server]==5.*'

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
    echo "installing $moto_spec into $venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$moto_spec"
fi

test -x "$venv/bin/moto_server" || { echo "moto_server missing from $venv/bin" >&2; exit 1; }
echo "ok: $venv/bin/moto_server"
