#!/usr/bin/env bash
# Deploys Flotilla's two Cloud Run services from infra/cloudrun/{web,worker}.yaml:
#   bash infra/cloudrun/deploy.sh IMAGE [web|worker|all] [gcloud flags…]
# e.g. bash infra/cloudrun/deploy.sh europe-docker.pkg.dev/my-project/flotilla/flotilla:1.4.0 --region europe-west1
# IMAGE replaces the descriptors' IMAGE placeholder and the current gcloud project (or
# --project) their PROJECT_ID; the other flags go to `gcloud run services replace`.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

if [[ $# -lt 1 || "$1" == -* ]]; then
  printf 'usage: %s IMAGE [web|worker|all] [gcloud run services replace flags...]\n' "$0" >&2
  exit 2
fi
image="$1"
shift
which_services=all
if [[ $# -gt 0 && "$1" != -* ]]; then
  which_services="$1"
  shift
fi
case "$which_services" in
  web) services=(web) ;;
  worker) services=(worker) ;;
  all) services=(web worker) ;;
  *)
    printf 'deploy: unknown service "%s" (web, worker or all)\n' "$which_services" >&2
    exit 2
    ;;
esac

if ! command -v gcloud >/dev/null 2>&1; then
  echo "deploy: gcloud was not found; install the Google Cloud CLI (https://cloud.google.com/sdk/docs/install)" >&2
  exit 1
fi

# shellcheck source=infra/gcloud-project.sh
source "$here/../gcloud-project.sh"
project="$(gcloud_project "$@")"
if [[ -z "$project" ]]; then
  echo "deploy: no project: pass --project or run \`gcloud config set project PROJECT_ID\`" >&2
  exit 1
fi

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

for service in "${services[@]}"; do
  sed -e "s|^\([[:space:]]*image:[[:space:]]*\)IMAGE[[:space:]]*$|\1${image}|" \
    -e "s|PROJECT_ID|${project}|g" \
    "$here/$service.yaml" >"$scratch/$service.yaml"
  gcloud run services replace "$scratch/$service.yaml" "$@"
done
