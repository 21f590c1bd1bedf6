#!/usr/bin/env bash
# Deploys Flotilla to Google App Engine (standard environment): `web` (app.yaml, the default
# service), `worker` (infra/appengine/worker.yaml) or both (the default). Extra arguments go to
# `gcloud app deploy`, e.g. `--project my-project --quiet`.
#
# The descriptors hold placeholders, filled in here for the upload: PROJECT_ID from --project (or
# the current gcloud project), REGION from GCP_REGION (the Serverless VPC Access connector's
# region, e.g. europe-west1) and MEMORYSTORE_HOST from MEMORYSTORE_HOST (the Redis instance's
# private address). A placeholder left unfilled stops the deploy before anything is uploaded.
#
# `gcloud app deploy` uploads the folder that holds each descriptor, so the filled-in copies are
# written to the repository root for the upload and removed afterwards.
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

# shellcheck source=infra/gcloud-project.sh
source "$root/infra/gcloud-project.sh"
project="$(gcloud_project "$@")"
missing=()
if [[ -z "$project" ]]; then missing+=("the project (--project, or \`gcloud config set project PROJECT_ID\`)"); fi
if [[ -z "${GCP_REGION:-}" ]]; then missing+=("GCP_REGION (the VPC connector's region, e.g. europe-west1)"); fi
if [[ -z "${MEMORYSTORE_HOST:-}" ]]; then missing+=("MEMORYSTORE_HOST (the Redis instance's private address)"); fi
if [[ ${#missing[@]} -gt 0 ]]; then
  printf 'deploy: set %s\n' "${missing[@]}" >&2
  exit 1
fi

descriptors=()
trap 'rm -f "${descriptors[@]}"' EXIT

# Writes a descriptor with its placeholders filled to the repository root, for the upload.
stage() {
  local source="$1" target="$2"
  descriptors+=("$target")
  sed -e "s|PROJECT_ID|${project}|g" -e "s|REGION|${GCP_REGION}|g" -e "s|MEMORYSTORE_HOST|${MEMORYSTORE_HOST}|g" \
    "$source" >"$target"
  if grep -nE 'PROJECT_ID|REGION|MEMORYSTORE_HOST' "$target" >&2; then
    echo "deploy: $source still holds a placeholder after filling it in (lines above)" >&2
    exit 1
  fi
}

if [[ "$which_services" == web || "$which_services" == all ]]; then stage app.yaml .appengine-web.yaml; fi
if [[ "$which_services" == worker || "$which_services" == all ]]; then stage infra/appengine/worker.yaml .appengine-worker.yaml; fi

gcloud app deploy "${descriptors[@]}" "$@"
