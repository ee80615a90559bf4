#!/usr/bin/env bash
# scripts/redmine/down.sh PORT [--purge]: stop the Redmine that up.sh started on PORT.
# --purge also deletes its state (database, logs, info JSON). Installed packages, images and
# the seeded-database snapshots stay.
set -euo pipefail
PORT=${1:-}
[[ $PORT =~ ^[0-9]+$ ]] || { echo "usage: $0 PORT [--purge]" >&2; exit 2; }
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"

case $(cat "$STATE/backend" 2>/dev/null || true) in
  debian) stop_debian_server ;;
  docker) stop_container ;;
  *) say "nothing was started on port $PORT" ;;
esac
if [ "${2:-}" = --purge ]; then
  rm -rf "$STATE"
  if [ -L "/var/lib/redmine/$INSTANCE" ]; then rm -f "/var/lib/redmine/$INSTANCE"; fi
  say "purged $STATE"
fi
