#!/usr/bin/env bash
# Runs `start`, `test`, `bench` or `audit` on Node 24 and pnpm 12. A machine with an older Node (or none of
# these pnpm versions) gets both installed into <repo>/.toolchain from the npm registry: the
# `node` npm package ships the binary, which is the one way to get Node 24 here without
# touching the system's Node (`pnpm env` needs a download site that is not reachable).
set -euo pipefail

readonly NODE_MAJOR=24
readonly PNPM_VERSION=12.21.0

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
toolchain="$root/.toolchain"
toolchain_bin="$toolchain/node_modules/.bin"

say() { printf 'flotilla: %s\n' "$*" >&2; }

command_name="${1:-}"
case "$command_name" in
  start | test | bench | audit) ;;
  *)
    printf 'usage: %s start|test|bench|audit\n' "$0" >&2
    exit 2
    ;;
esac

# Major version of a node binary, or 0 when it is missing or broken.
node_major() {
  "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0
}

# Prints the pnpm version on the PATH, or nothing. A corepack shim must not prompt for a
# download, hence the empty stdin and the variable.
pnpm_version() {
  COREPACK_ENABLE_DOWNLOAD_PROMPT=0 pnpm --version </dev/null 2>/dev/null || true
}

# Whether a toolchain binary already satisfies the requirement.
toolchain_has_node() { [[ -x "$toolchain_bin/node" && "$(node_major "$toolchain_bin/node")" -ge "$NODE_MAJOR" ]]; }
toolchain_has_pnpm() { [[ -x "$toolchain_bin/pnpm" && "$(PATH="$toolchain_bin:$PATH" pnpm_version)" == 12.* ]]; }

need_node=false
system_node="$(command -v node || true)"
if [[ -z "$system_node" || "$(node_major "$system_node")" -lt "$NODE_MAJOR" ]]; then need_node=true; fi
need_pnpm=false
if [[ "$(pnpm_version)" != 12.* ]]; then need_pnpm=true; fi

if [[ "$need_node" == true || "$need_pnpm" == true ]]; then
  missing=false
  if [[ "$need_node" == true ]] && ! toolchain_has_node; then missing=true; fi
  if [[ "$need_pnpm" == true ]] && ! toolchain_has_pnpm; then missing=true; fi
  if [[ "$missing" == true ]]; then
    if ! command -v npm >/dev/null 2>&1; then
      say "Node.js $NODE_MAJOR and pnpm 12 are needed and installing them needs npm, which was not found; install Node.js with npm (any version) first"
      exit 1
    fi
    # One npm command for everything .toolchain should hold: a second `npm install --prefix`
    # would remove what the first one installed.
    packages=()
    if [[ "$need_node" == true || -x "$toolchain_bin/node" ]]; then packages+=("node@$NODE_MAJOR"); fi
    if [[ "$need_pnpm" == true || -x "$toolchain_bin/pnpm" ]]; then packages+=("pnpm@$PNPM_VERSION"); fi
    say "installing ${packages[*]} into .toolchain (once per clone)"
    npm install --prefix "$toolchain" --no-save --no-package-lock "${packages[@]}" >&2
  fi
  export PATH="$toolchain_bin:$PATH"
  hash -r
fi

node_version="$(node --version)"
if [[ "$(node_major "$(command -v node)")" -lt "$NODE_MAJOR" ]]; then
  say "Node $node_version is on the PATH but $NODE_MAJOR or newer is needed; .toolchain did not provide it"
  exit 1
fi
pnpm_found="$(pnpm_version)"
if [[ "$pnpm_found" != 12.* ]]; then
  say "pnpm 12 is needed, found '${pnpm_found:-none}'; .toolchain did not provide it"
  exit 1
fi
node_path="$(command -v node)"
node_origin="$node_path"
if [[ "$node_path" == "$toolchain_bin/"* ]]; then node_origin=".toolchain"; fi
say "using Node $node_version from $node_origin, pnpm $pnpm_found"

cd "$root"
if [[ "$command_name" == audit ]]; then
  # The lockfile is all an audit reads. Known high or critical vulnerabilities in what the
  # services run fail it; an advisory service that cannot be asked (npm's bulk endpoint has
  # answered 405 to pnpm here) is reported and does not, since it says nothing either way.
  say "auditing production dependencies (pnpm audit --prod --audit-level high)"
  status=0
  output="$(pnpm audit --prod --audit-level high 2>&1)" || status=$?
  printf '%s\n' "$output"
  if [[ "$status" -ne 0 && "$output" == *ERR_PNPM_AUDIT_* ]]; then
    say "WARNING: the advisory service could not be asked; production dependencies NOT audited"
    exit 0
  fi
  exit "$status"
fi
say "installing dependencies (pnpm install --frozen-lockfile)"
pnpm install --frozen-lockfile

say "building (tsc -b)"
pnpm run build
case "$command_name" in
  start)
    say "starting web and worker"
    exec node tools/devstack/dist/main.js
    ;;
  test)
    say "type-checking the tests"
    pnpm exec tsc -p tsconfig.test.json
    say "linting"
    pnpm run lint
    say "running the tests"
    exec pnpm run test:unit
    ;;
  bench)
    say "running the benchmarks"
    exec pnpm --filter @flotilla/bench run bench
    ;;
esac
