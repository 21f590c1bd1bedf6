#!/usr/bin/env bash
# Builds a local stand-in for the Dockerfile's base image (its NODE_IMAGE, e.g.
# node:24.21.0-bookworm-slim) under that very tag, for machines that reach Debian's mirror and
# the npm registry but no image registry. The Dockerfile itself stays as a user builds it.
#
# The stand-in is what the official image holds where the build relies on it: Debian bookworm
# (debootstrap minbase from the machine's own apt mirror), that exact Node release and npm in
# /usr/local (from the npm registry's `node` and `npm` packages), a `node` user and group with
# id 1000, and apt set to keep no package caches in image layers. The machine's CA bundle goes
# in too, with NODE_EXTRA_CA_CERTS naming it: where the registries are reached through a
# TLS-intercepting proxy, npm in the build would otherwise refuse the proxy's certificates.
#
# Usage: base-image-stand-in.sh [--force]   (root; debootstrap and a running Docker engine)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
say() { printf 'base-image-stand-in: %s\n' "$*" >&2; }

tag="$(sed -n 's/^ARG NODE_IMAGE=//p' "$root/Dockerfile")"
if [[ ! "$tag" =~ ^node:([0-9]+\.[0-9]+\.[0-9]+)-bookworm-slim$ ]]; then
  say "the Dockerfile's NODE_IMAGE is '$tag'; this stand-in only knows node:<version>-bookworm-slim"
  exit 1
fi
node_version="${BASH_REMATCH[1]}"

if [[ "${1:-}" != --force ]] && docker image inspect "$tag" >/dev/null 2>&1; then
  say "$tag is already there"
  exit 0
fi
for tool in debootstrap docker npm; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    say "$tool is needed (Debian: apt-get install debootstrap docker.io; npm comes with Node.js)"
    exit 1
  fi
done

# The first Debian mirror the machine's apt uses (deb822 sources or a classic sources.list).
mirror="$(sed -n 's/^URIs: *\([^ ]*\).*/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v security | head -n 1 || true)"
if [[ -z "$mirror" ]]; then
  mirror="$(awk '$1 == "deb" && $0 !~ /security/ { print $2; exit }' /etc/apt/sources.list 2>/dev/null || true)"
fi
mirror="${mirror:-http://deb.debian.org/debian}"

work="$(mktemp -d /tmp/flotilla-base-image.XXXXXX)"
trap 'rm -rf "$work"' EXIT
rootfs="$work/rootfs"

say "debootstrap bookworm (minbase) from $mirror"
debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 || {
  tail -n 20 "$work/debootstrap.log" >&2
  exit 1
}

say "Node $node_version and npm 11 from the npm registry"
npm install --prefix "$work/npm" --no-save --no-package-lock --no-audit --no-fund "node@$node_version" "npm@11" >&2
node_binary="$(readlink -f "$work/npm/node_modules/node/bin/node")"
if [[ "$("$node_binary" --version)" != "v$node_version" ]]; then
  say "the node package installed $("$node_binary" --version), not v$node_version"
  exit 1
fi
install -m 0755 "$node_binary" "$rootfs/usr/local/bin/node"
mkdir -p "$rootfs/usr/local/lib/node_modules"
cp -a "$work/npm/node_modules/npm" "$rootfs/usr/local/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"

# The official image's user: uid and gid 1000, home /home/node.
echo 'node:x:1000:' >>"$rootfs/etc/group"
echo 'node:x:1000:1000::/home/node:/bin/bash' >>"$rootfs/etc/passwd"
echo 'node:*:19000:0:99999:7:::' >>"$rootfs/etc/shadow"
install -d -o 1000 -g 1000 "$rootfs/home/node"

# Debian's container images keep apt from leaving downloaded packages and its binary caches
# behind, so `apt-get install … && rm -rf /var/lib/apt/lists/*` leaves a small layer.
cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'APT'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
APT
cat >"$rootfs/etc/apt/apt.conf.d/docker-no-languages" <<'APT'
Acquire::Languages "none";
APT

changes=(--change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" --change "ENV NODE_VERSION=$node_version" --change 'CMD ["node"]')
if [[ -r /etc/ssl/certs/ca-certificates.crt ]]; then
  ca_bundle=/usr/local/share/ca-certificates/build-host.pem
  install -D -m 0644 /etc/ssl/certs/ca-certificates.crt "$rootfs$ca_bundle"
  changes+=(--change "ENV NODE_EXTRA_CA_CERTS=$ca_bundle")
fi

rm -rf "$rootfs/var/lib/apt/lists/"* "$rootfs/var/cache/apt/"*.bin "$rootfs/var/cache/apt/archives/"*.deb "$rootfs/tmp/"*

say "importing as $tag"
tar --numeric-owner -C "$rootfs" -c . | docker import "${changes[@]}" - "$tag" >/dev/null
say "built $tag ($(docker image inspect --format '{{.Size}}' "$tag") bytes)"
