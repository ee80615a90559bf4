# Sourced by up.sh and down.sh: where a port's Redmine lives and how to stop it.
# Needs PORT set. State root: NETBOT_REDMINE_HOME (default ${TMPDIR:-/tmp}/netbot-redmine).

REDMINE_HOME_DIR=${NETBOT_REDMINE_HOME:-${TMPDIR:-/tmp}/netbot-redmine}
STATE=$REDMINE_HOME_DIR/port-$PORT
INSTANCE=netbot-$PORT              # Debian multi-tenancy instance (/var/lib/redmine/NAME)
CONTAINER=netbot-redmine-$PORT     # the container's name with the docker backend
SERVER_PID=$STATE/tmp/pids/server.pid

t_start=$(date +%s%N)
say() {
  local ms=$(( ($(date +%s%N) - t_start) / 1000000 ))
  printf '[redmine %d.%01ds] %s\n' $((ms / 1000)) $((ms % 1000 / 100)) "$*" >&2
}

# The pid of this port's puma, if it is alive (the pid file alone could be stale and the
# number reused, so the process must also be a Ruby server).
debian_server_pid() {
  local pid
  pid=$(cat "$SERVER_PID" 2>/dev/null) || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null \
    && grep -qaE 'puma|rails' "/proc/$pid/cmdline" 2>/dev/null && echo "$pid"
}

stop_debian_server() {
  local pid
  if pid=$(debian_server_pid); then
    kill -TERM "$pid"
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid"; fi
    say "stopped puma $pid on port $PORT"
  fi
  rm -f "$SERVER_PID"
}

stop_container() {
  if docker container inspect "$CONTAINER" >/dev/null 2>&1; then
    docker rm -f "$CONTAINER" >/dev/null
    say "removed container $CONTAINER"
  fi
}
