#!/usr/bin/env bash
# Builds an Elastic Beanstalk source bundle (Node.js platform) of compiled code and production
# dependencies: the platform runs no `npm install` when node_modules is present, and npm could
# not install a pnpm workspace anyway.
#   bash infra/elasticbeanstalk/bundle.sh [all|web|worker]   → dist/eb/flotilla-<mode>.zip
# all:    web and worker processes on every instance (one environment; they scale together)
# web:    only the web (an environment behind a load balancer)
# worker: only the worker, run as the environment's main process so the load balancer's health
#         check reaches its health port (a second environment that scales on its own)
# FLOTILLA_EB_NO_ZIP=1 stops after assembling dist/eb/<mode>/ (the tests use it).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

mode="${1:-all}"
case "$mode" in
  all) services=(web worker) ;;
  web) services=(web) ;;
  worker) services=(worker) ;;
  *)
    printf 'usage: %s [all|web|worker]\n' "$0" >&2
    exit 2
    ;;
esac

out="dist/eb/$mode"
archive="dist/eb/flotilla-$mode.zip"
rm -rf "$out" "$archive"

pnpm install --frozen-lockfile
pnpm exec tsc -b services/web services/worker

mkdir -p "$out/services"
for service in "${services[@]}"; do
  # Hoisted: plain folders, no symlinks, whatever unpacks the archive.
  pnpm --config.node-linker=hoisted --filter "@flotilla/$service" --prod deploy "$out/.deploy/$service"
  rm -rf "$out/.deploy/$service/node_modules/.bin"
  mkdir -p "$out/services/$service"
  mv "$out/.deploy/$service/package.json" "$out/.deploy/$service/node_modules" "$out/.deploy/$service/dist" "$out/services/$service/"
done
rm -rf "$out/.deploy"

# The repository's Procfile commands. Elastic Beanstalk routes requests to the process named
# web; a worker beside it gets its own health port so the two never both bind PORT.
web_command="$(sed -n 's/^web:[[:space:]]*//p' Procfile)"
worker_command="$(sed -n 's/^worker:[[:space:]]*//p' Procfile)"
case "$mode" in
  all) printf 'web: %s\nworker: env PORT=3001 %s\n' "$web_command" "$worker_command" >"$out/Procfile" ;;
  web) printf 'web: %s\n' "$web_command" >"$out/Procfile" ;;
  worker) printf 'web: %s\n' "$worker_command" >"$out/Procfile" ;;
esac

mkdir -p "$out/.ebextensions"
cp infra/elasticbeanstalk/ebextensions/*.config "$out/.ebextensions/"
cp -R infra/elasticbeanstalk/platform "$out/.platform"

if [[ "${FLOTILLA_EB_NO_ZIP:-}" == 1 ]]; then
  echo "bundle: assembled $out" >&2
  exit 0
fi
if ! command -v zip >/dev/null 2>&1; then
  echo "bundle: zip was not found (Debian/Ubuntu: sudo apt-get install zip); the bundle is assembled in $out" >&2
  exit 1
fi
(cd "$out" && zip -qr "../flotilla-$mode.zip" .)
echo "bundle: wrote $archive" >&2
