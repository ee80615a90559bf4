#!/usr/bin/env bash
# scripts/redmine/up.sh PORT: a real Redmine 5 on 127.0.0.1:PORT, seeded with the data the
# integration tests expect (seed.rb). Prints, for eval or the test fixture:
#   REDMINE_URL=...  REDMINE_INFO_JSON=...  (the seed's ids, logins, passwords, API keys)
#   REDMINE_STARTED=1|0 (whether this run started the server, so the caller knows to stop it)
# Progress goes to stderr. Stop it with down.sh PORT.
#
# Where the Redmine comes from, first that works (REDMINE_BACKEND=debian|docker forces one):
#  - debian: Debian's redmine, redmine-sqlite and puma packages (installed if missing; root),
#    an instance of its own under the state dir, SQLite, puma;
#  - docker: the official image (REDMINE_IMAGE, default redmine:5) where a Docker engine runs.
# Neither: exit 3, the reason on stderr's last line (the test fixture skips with it).
#
# Idempotent: with the server up it only checks the API. REDMINE_RESET=1 returns to the seed
# (a restart from a seeded-database snapshot: a few seconds). No TTY or prompt is needed.
# State: ${NETBOT_REDMINE_HOME:-${TMPDIR:-/tmp}/netbot-redmine}/port-PORT.
set -euo pipefail
PORT=${1:-}
[[ $PORT =~ ^[0-9]+$ ]] || { echo "usage: $0 PORT" >&2; exit 2; }
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=common.sh
. "$HERE/common.sh"

URL=http://127.0.0.1:$PORT
INFO=$STATE/info.json
SEED=$HERE/seed.rb
READY_TIMEOUT=${REDMINE_READY_TIMEOUT:-180}
APP=/usr/share/redmine
PACKAGES=(redmine redmine-sqlite puma curl)
EXIT_UNAVAILABLE=3
PY=${PYTHON:-python3}

fail() { say "failed: $*"; exit 1; }
unavailable() { say "unavailable: $*"; exit "$EXIT_UNAVAILABLE"; }
trap 'say "failed at line $LINENO: $BASH_COMMAND"' ERR

mkdir -p "$STATE"
exec 9>"$STATE/lock"   # one up.sh per port at a time (parallel test sessions)
flock -w 600 9 || fail "another up.sh for port $PORT holds $STATE/lock"

installed() { [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]; }
docker_engine() { command -v docker >/dev/null && docker info >/dev/null 2>&1; }
debian_possible() {
  command -v dpkg-query >/dev/null || return 1
  local missing=0 p
  for p in "${PACKAGES[@]}"; do installed "$p" || missing=1; done
  [ "$(id -u)" = 0 ] && [ -d /var/lib/redmine ] && [ $missing = 0 ] && return 0
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null \
    && [ -n "$(apt-cache policy redmine 2>/dev/null | awk '/Candidate:/ && $2 != "(none)"')" ]
}

choose_backend() {   # sets BACKEND
  local chosen=${REDMINE_BACKEND:-$(cat "$STATE/backend" 2>/dev/null || true)}
  case $chosen in
    debian) debian_possible || unavailable "REDMINE_BACKEND=debian, but this is not a root Debian with the redmine package available" ;;
    docker) docker_engine || unavailable "REDMINE_BACKEND=docker, but no Docker engine answers (docker info)" ;;
    '') if debian_possible; then chosen=debian
        elif docker_engine; then chosen=docker
        else unavailable "no Redmine for the integration tests: neither Debian's redmine package (needs root and apt-get) nor a Docker engine (docker info) is available here; or set REDMINE_TEST_URL and REDMINE_TEST_INFO_JSON to a seeded Redmine"
        fi ;;
    *) fail "REDMINE_BACKEND must be debian or docker, not $chosen" ;;
  esac
  BACKEND=$chosen
}

port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; }
admin_key() { "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["users"]["admin"]["api_key"])' "$INFO"; }
api_status() {
  curl -s -o /dev/null -m 5 -w '%{http_code}' -H "X-Redmine-API-Key: $1" "$URL/users/current.json" || true
}
# Wait until the admin's key reads /users/current.json; $1 is a command that says whether
# the server is still alive.
wait_for_api() {
  local alive=$1 key deadline=$(( $(date +%s) + READY_TIMEOUT ))
  key=$(admin_key)
  until [ "$(api_status "$key")" = 200 ]; do
    $alive || { tail -n 30 "$STATE/server.log" >&2 2>/dev/null || true; fail "the server exited"; }
    [ "$(date +%s)" -lt "$deadline" ] || fail "the API did not answer within ${READY_TIMEOUT}s"
    sleep 0.2
  done
}
seed_key() { { cat "$SEED"; echo "$1"; } | sha256sum | cut -c1-16; }

# ------------------------------------------------------------------ debian: packages
debian_bundler_version() {   # e.g. 2.3.15: Debian's ruby-bundler (installed, else candidate)
  apt-cache policy ruby-bundler 2>/dev/null | awk '
    /Installed:/ { installed = $2 } /Candidate:/ { candidate = $2 }
    END { v = (installed != "" && installed != "(none)") ? installed : candidate
          sub(/^[0-9]+:/, "", v); sub(/-[^-]*$/, "", v); print v }'
}

install_packages() {
  local missing=() p
  for p in "${PACKAGES[@]}"; do installed "$p" || missing+=("$p"); done
  [ ${#missing[@]} = 0 ] && return
  say "installing ${missing[*]} with apt-get (log: $REDMINE_HOME_DIR/apt.log)"
  export DEBIAN_FRONTEND=noninteractive
  # An empty instance list: the package then creates no "default" instance of its own.
  echo 'redmine redmine/current-instances string' | debconf-set-selections
  # ruby3.1's newer default bundler lacks Debian's rubygems integration and fails the
  # package's `bundle install --local`: use Debian's ruby-bundler.
  BUNDLER_VERSION=$(debian_bundler_version); export BUNDLER_VERSION
  {
    apt-get update -q
    apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=600 \
      -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}"
  } > "$REDMINE_HOME_DIR/apt.log" 2>&1 < /dev/null || true
  for p in "${PACKAGES[@]}"; do
    installed "$p" || { tail -n 30 "$REDMINE_HOME_DIR/apt.log" >&2; fail "apt-get did not install $p"; }
  done
}

# ------------------------------------------------------------------ debian: the instance
write_if_changed() {   # write stdin to $1 only if it differs (keeps mtimes meaningful)
  local new; new=$(cat)
  [ -f "$1" ] && [ "$(cat "$1")" = "$new" ] || printf '%s\n' "$new" > "$1"
}

debian_instance() {
  # Redmine reads config/database.yml, secret_key.txt, log/, tmp/ and files/ of the instance
  # named by REDMINE_INSTANCE from /var/lib/redmine/NAME: point that at the state dir.
  mkdir -p "$STATE"/{config,db,log,files,tmp/pids,tmp/cache,public/plugin_assets}
  write_if_changed "$STATE/config/database.yml" <<YAML
production:
  adapter: sqlite3
  database: $STATE/db/redmine.sqlite3
  pool: 5
  timeout: 10000
YAML
  [ -s "$STATE/config/secret_key.txt" ] || head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$STATE/config/secret_key.txt"
  ln -sfn "$STATE" "/var/lib/redmine/$INSTANCE"
  # Redmine's Gemfile has no app server; under Bundler `rails server` needs one listed.
  write_if_changed "$STATE/Gemfile" <<'RUBY'
eval_gemfile '/usr/share/redmine/Gemfile'
gem 'puma'
RUBY
  export REDMINE_INSTANCE=$INSTANCE BUNDLE_GEMFILE=$STATE/Gemfile RAILS_ENV=production
  BUNDLER_VERSION=$(debian_bundler_version); export BUNDLER_VERSION
  # Resolve against the installed gems only; again after any package change.
  if [ ! -s "$STATE/Gemfile.lock" ] || [ "$STATE/Gemfile" -nt "$STATE/Gemfile.lock" ] \
     || [ /var/lib/dpkg/status -nt "$STATE/Gemfile.lock" ]; then
    rm -f "$STATE/Gemfile.lock"
    (cd "$APP" && bundle install --local --quiet) > "$STATE/bundle.log" 2>&1 < /dev/null \
      || { cat "$STATE/bundle.log" >&2; fail "bundle install --local failed"; }
  fi
}

debian_seed() {   # the instance's database at the seed (from a snapshot when there is one)
  local key db=$STATE/db/redmine.sqlite3 snapshot
  key=$(seed_key "$(dpkg-query -W -f='${Version}' redmine)")
  snapshot=$REDMINE_HOME_DIR/seeded-debian-$key
  if [ "${REDMINE_RESET:-0}" = 1 ]; then
    stop_debian_server
    rm -f "$db" "$db-wal" "$db-shm" "$INFO" "$STATE/seed.key"
  fi
  if [ ! -s "$db" ] && [ -s "$snapshot.sqlite3" ] && [ -s "$snapshot.json" ]; then
    cp "$snapshot.sqlite3" "$db" && cp "$snapshot.json" "$INFO" && echo "$key" > "$STATE/seed.key"
    say "database restored from the seeded snapshot"
  fi
  [ "$(cat "$STATE/seed.key" 2>/dev/null)" = "$key" ] && [ -s "$INFO" ] && return
  stop_debian_server   # the seed writes while nothing else holds the database
  say "migrating and seeding (rails runner seed.rb)"
  (cd "$APP" && NETBOT_SEED_INFO=$INFO ruby bin/rails runner "$SEED") > "$STATE/seed.log" 2>&1 < /dev/null \
    || { tail -n 40 "$STATE/seed.log" >&2; fail "seed.rb failed (log: $STATE/seed.log)"; }
  echo "$key" > "$STATE/seed.key"
  # The runner has exited, so the database is one closed file (WAL checkpointed).
  cp "$db" "$snapshot.sqlite3.tmp" && cp "$INFO" "$snapshot.json" && mv "$snapshot.sqlite3.tmp" "$snapshot.sqlite3"
}

debian_up() {
  install_packages
  debian_instance
  debian_seed
  if debian_server_pid >/dev/null; then
    STARTED=0
  else
    port_taken && fail "port $PORT is in use by another program"
    # Own session and no terminal: it outlives this script and the caller's process group.
    # One thread: concurrent SQLite writers in one process stall ("database is locked").
    (cd "$APP" && PUMA_MIN_THREADS=1 PUMA_MAX_THREADS=1 exec setsid ruby bin/rails server \
       -u puma -b 127.0.0.1 -p "$PORT" -e production -P "$SERVER_PID") \
      > "$STATE/server.log" 2>&1 < /dev/null 9>&- &   # 9>&-: the server must not hold the lock
    STARTED=1
    say "puma starting on $URL"
  fi
  wait_for_api "debian_alive"
}
debian_alive() { [ -s "$SERVER_PID" ] && debian_server_pid >/dev/null || kill -0 "$!" 2>/dev/null; }

# ------------------------------------------------------------------ docker
container_running() { [ "$(docker container inspect -f '{{.State.Running}}' "$CONTAINER" 2>/dev/null)" = true ]; }
docker_alive() { container_running || { docker logs "$CONTAINER" > "$STATE/server.log" 2>&1; false; }; }

docker_up() {
  local image=${REDMINE_IMAGE:-redmine:5} key
  if [ "${REDMINE_RESET:-0}" = 1 ]; then stop_container; rm -f "$INFO" "$STATE/seed.key"; fi
  STARTED=0
  if ! container_running; then
    if docker container inspect "$CONTAINER" >/dev/null 2>&1; then
      docker start "$CONTAINER" >/dev/null
    else
      port_taken && fail "port $PORT is in use by another program"
      rm -f "$INFO" "$STATE/seed.key"
      say "starting $image as $CONTAINER (first pull can take a while)"
      # Without database settings the image uses SQLite and migrates before it serves.
      docker run -d --name "$CONTAINER" -p "127.0.0.1:$PORT:3000" -e PUMA_MAX_THREADS=1 \
        "$image" > /dev/null < /dev/null
    fi
    STARTED=1
  fi
  key=$(seed_key "$(docker container inspect -f '{{.Image}}' "$CONTAINER")")
  if [ "$(cat "$STATE/seed.key" 2>/dev/null)" != "$key" ] || [ ! -s "$INFO" ]; then
    local deadline=$(( $(date +%s) + READY_TIMEOUT ))
    until [ "$(curl -s -o /dev/null -m 5 -w '%{http_code}' "$URL/login" || true)" = 200 ]; do
      docker_alive || fail "container $CONTAINER exited (log: $STATE/server.log)"
      [ "$(date +%s)" -lt "$deadline" ] || fail "$image did not answer within ${READY_TIMEOUT}s"
      sleep 0.5
    done
    say "seeding through docker exec (rails runner seed.rb)"
    docker cp "$SEED" "$CONTAINER:/tmp/netbot-seed.rb" > /dev/null
    docker exec -u redmine -e RAILS_ENV=production -e NETBOT_SEED_INFO=/tmp/netbot-info.json \
      "$CONTAINER" bin/rails runner /tmp/netbot-seed.rb > "$STATE/seed.log" 2>&1 < /dev/null \
      || { tail -n 40 "$STATE/seed.log" >&2; fail "seed.rb failed in $CONTAINER (log: $STATE/seed.log)"; }
    docker cp "$CONTAINER:/tmp/netbot-info.json" "$INFO" > /dev/null
    echo "$key" > "$STATE/seed.key"
  fi
  wait_for_api "docker_alive"
}

# ------------------------------------------------------------------ main
choose_backend
echo "$BACKEND" > "$STATE/backend"
"${BACKEND}_up"
say "ready ($BACKEND): $URL"
printf 'REDMINE_URL=%s\nREDMINE_INFO_JSON=%s\nREDMINE_STARTED=%s\n' "$URL" "$INFO" "$STARTED"
