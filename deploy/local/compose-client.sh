#!/usr/bin/env bash
# Builds the Docker Compose v2 client (the `docker compose` CLI plugin) from the Go module proxy,
# so the tests can run `docker compose config` on machines with no Docker engine and no Docker
# release downloads. `config` only parses, interpolates and validates the file: it never talks
# to an engine. The binary is cached under .local-stack/cache and exposed as a CLI plugin in
# .local-stack/docker (point DOCKER_CONFIG there). Go's own module and build caches (~/go,
# ~/.cache/go-build) make a rebuild fast; nothing else outside the repository is written.
#
#   deploy/local/compose-client.sh          build if missing, print the plugin folder
set -euo pipefail
cd "$(dirname "$0")/../.."

VERSION="${RADAR_COMPOSE_VERSION:-v2.40.3}"
module="github.com/docker/compose/v2"
cache=".local-stack/cache/compose-$VERSION"
binary="$cache/docker-compose"
plugins=".local-stack/docker/cli-plugins"

if [ ! -x "$binary" ]; then
  command -v go >/dev/null 2>&1 || { echo "compose-client: Go is needed to build docker compose $VERSION" >&2; exit 1; }
  echo "compose-client: building docker compose $VERSION from the Go module proxy (once; ~3 min)" >&2
  info="$(go mod download -json "$module@$VERSION" || true)"
  src="$(printf '%s' "$info" | python3 -c 'import json,sys
d = json.load(sys.stdin)
if "Error" in d or "Dir" not in d:
    sys.exit("compose-client: go mod download failed: " + d.get("Error", "no folder"))
print(d["Dir"])')"
  work="$(mktemp -d)"
  trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
  # Its go.mod carries exclude/replace directives, which `go install pkg@version` refuses: build
  # it as the main module from a writable copy instead.
  cp -r "$src/." "$work" && chmod -R u+w "$work"
  mkdir -p "$cache"
  (cd "$work" && CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X $module/internal.Version=$VERSION" -o "$OLDPWD/$binary.tmp" ./cmd)
  mv "$binary.tmp" "$binary"
fi
mkdir -p "$plugins"
ln -sf "$(pwd)/$binary" "$plugins/docker-compose"
echo "$(pwd)/.local-stack/docker"
