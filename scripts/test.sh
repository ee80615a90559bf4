#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs and starts what it needs, then runs
# ruff, mypy and pytest. Usage: scripts/test.sh [pytest args...]
#  - Python deps: a venv in .venv from requirements-dev.txt (runtime requirements.txt plus
#    test tools, all pinned), reinstalled when either file changes; a broken .venv (its
#    python missing or not starting) is deleted and recreated.
#  - PostgreSQL: uses NETBOT_TEST_DATABASE_URL if set; else starts the local cluster if one
#    is installed and uses 127.0.0.1:5432/test; else the PostgreSQL cases are skipped.
#    A server without trust auth or without the `test` database: those cases skip, saying so.
#  - Redmine: REDMINE_TEST_URL + REDMINE_TEST_INFO_JSON if set; else the test fixture runs
#    scripts/redmine/up.sh (Debian packages as root, else the redmine:5 image with Docker)
#    for a seeded Redmine 5 on 127.0.0.1:${REDMINE_TEST_PORT:-3999} and stops it at the end.
#  - NETBOT_NO_SKIP=1 (set by .ci/run, not derived from CI): any skipped test fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
t0=$(date +%s)
say() { printf '[test %4ss] %s\n' "$(( $(date +%s) - t0 ))" "$*" >&2; }

PY=${PYTHON:-python3}
if [ -e .venv ] && ! .venv/bin/python -c 'import sys' >/dev/null 2>&1; then
  say "removing a broken .venv"
  rm -rf .venv
fi
if [ ! -x .venv/bin/python ]; then
  say "creating .venv"
  "$PY" -m venv .venv
fi
if ! cat requirements.txt requirements-dev.txt | cmp -s - .venv/.requirements.installed; then
  say "installing requirements-dev.txt"
  .venv/bin/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt
  cat requirements.txt requirements-dev.txt >.venv/.requirements.installed
fi

if [ -z "${NETBOT_TEST_DATABASE_URL:-}" ] && command -v pg_lsclusters >/dev/null 2>&1; then
  if ! pg_isready -q -h 127.0.0.1 -p 5432; then
    say "starting PostgreSQL"
    for version in $(ls /etc/postgresql 2>/dev/null); do
      pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    done
    for _ in $(seq 1 50); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.2; done
  fi
  if pg_isready -q -h 127.0.0.1 -p 5432; then
    export NETBOT_TEST_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:5432/test"
  fi
fi
say "PostgreSQL for tests: ${NETBOT_TEST_DATABASE_URL:-none (PostgreSQL cases will skip)}"

say "ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .

say "mypy"
.venv/bin/mypy

say "pytest"
set +e
.venv/bin/python -m pytest -p no:cacheprovider "$@"
code=$?
set -e
say "done (pytest exit $code)"
exit $code
