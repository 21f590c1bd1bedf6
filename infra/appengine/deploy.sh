#!/usr/bin/env bash
# Deploys Flotilla to Google App Engine (standard environment): `web` (app.yaml, the default
# service), `worker` (infra/appengine/worker.yaml) or both (the default). Extra arguments go to
# `gcloud app deploy`, e.g. `--project my-project --quiet`.
#
# `gcloud app deploy` uploads the folder that holds each descriptor. The worker needs the whole
# repository, so its descriptor is copied to the repository root for the upload and removed
# afterwards (the layout keeps service descriptors other than app.yaml under infra/).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

which_services=all
if [[ $# -gt 0 && "$1" != -* ]]; then
  which_services="$1"
  shift
fi
case "$which_services" in
  web | worker | all) ;;
  *)
    printf 'usage: %s [web|worker|all] [gcloud app deploy flags...]\n' "$0" >&2
    exit 2
    ;;
esac

if ! command -v gcloud >/dev/null 2>&1; then
  echo "deploy: gcloud was not found; install the Google Cloud CLI (https://cloud.google.com/sdk/docs/install)" >&2
  exit 1
fi

staged_worker=".appengine-worker.yaml"
trap 'rm -f "$staged_worker"' EXIT

descriptors=()
if [[ "$which_services" == web || "$which_services" == all ]]; then descriptors+=(app.yaml); fi
if [[ "$which_services" == worker || "$which_services" == all ]]; then
  cp infra/appengine/worker.yaml "$staged_worker"
  descriptors+=("$staged_worker")
fi

gcloud app deploy "${descriptors[@]}" "$@"
