#!/usr/bin/env bash
# Starts a Docker engine for the image tests when none answers: as root, with no bridge network
# and no iptables rules (every build and container here uses --network host, so all traffic stays
# on loopback). Prints the pid of the dockerd it started, or nothing when one was already running.
set -euo pipefail

say() { printf 'docker-engine: %s\n' "$*" >&2; }

if docker info >/dev/null 2>&1; then exit 0; fi
if ! command -v dockerd >/dev/null 2>&1; then
  say "dockerd not found (Debian: apt-get install docker.io)"
  exit 1
fi
if [[ "$(id -u)" -ne 0 ]]; then
  say "starting dockerd needs root"
  exit 1
fi
log="${TMPDIR:-/tmp}/flotilla-dockerd.log"
dockerd --bridge=none --iptables=false >"$log" 2>&1 &
pid=$!
for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then
    echo "$pid"
    exit 0
  fi
  if ! kill -0 "$pid" 2>/dev/null; then break; fi
  sleep 0.5
done
say "dockerd did not come up; the end of $log:"
tail -n 20 "$log" >&2
exit 1
