# shellcheck shell=bash
# Sourced by the deploy scripts under infra/: the Google Cloud project a gcloud command given
# these arguments would use, from --project / --project=… or else the current gcloud
# configuration; prints nothing when neither names one.
gcloud_project() {
  local args=("$@") project="" i
  for ((i = 0; i < ${#args[@]}; i++)); do
    case "${args[i]}" in
      --project=*) project="${args[i]#--project=}" ;;
      --project) project="${args[i + 1]:-}" ;;
    esac
  done
  if [[ -z "$project" ]]; then project="$(gcloud config get-value project 2>/dev/null || true)"; fi
  printf '%s' "$project"
}
