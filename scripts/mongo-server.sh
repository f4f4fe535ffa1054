#!/usr/bin/env bash
# Builds (once) a FerretDB binary used as a MongoDB-wire server in tests.
# Usage: scripts/mongo-server.sh [build|path]
#   build (default)  build FerretDB into the cache unless the binary already exists
#   path             print the binary path
# Env: FERRETDB_BIN  binary location (default $HOME/.cache/librechat-supabase/ferretdb/bin/ferretdb)
# Needs only `go` (>= 1.24) and the Go module proxy. The server itself is started by the test setup.
set -euo pipefail

FERRETDB_VERSION=v1.24.2
FERRETDB_MODULE=github.com/FerretDB/FerretDB
BIN="${FERRETDB_BIN:-$HOME/.cache/librechat-supabase/ferretdb/bin/ferretdb}"

die() { echo "mongo-server.sh: $*" >&2; exit 1; }

build() {
  if [[ -x "$BIN" ]]; then echo "$BIN"; return 0; fi
  command -v go >/dev/null || die "go is not installed (needed to build FerretDB $FERRETDB_VERSION)"
  local dir
  TMP_DIR="$(mktemp -d)"
  trap 'chmod -R u+w "$TMP_DIR" 2>/dev/null; rm -rf "$TMP_DIR"' EXIT
  echo "mongo-server.sh: building FerretDB $FERRETDB_VERSION into $BIN ..." >&2
  # `go install pkg@version` fails (the proxy refuses @v/list for the deprecation check),
  # so download the exact module version and build it as the main module.
  dir="$(cd "$TMP_DIR" && GO111MODULE=on go mod download -json "$FERRETDB_MODULE@$FERRETDB_VERSION" \
    | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')" \
    || die "could not download $FERRETDB_MODULE@$FERRETDB_VERSION from the Go module proxy"
  [[ -n "$dir" && -d "$dir" ]] || die "go mod download returned no source dir for $FERRETDB_MODULE@$FERRETDB_VERSION"
  cp -R "$dir" "$TMP_DIR/src" && chmod -R u+w "$TMP_DIR/src"
  # The binary panics at startup unless build/version/version.txt holds the version.
  echo "$FERRETDB_VERSION" > "$TMP_DIR/src/build/version/version.txt"
  mkdir -p "$(dirname "$BIN")"
  (cd "$TMP_DIR/src" && CGO_ENABLED=0 GO111MODULE=on GOFLAGS=-buildvcs=false \
    go build -trimpath -o "$BIN.tmp.$$" ./cmd/ferretdb) || { rm -f "$BIN.tmp.$$"; die "go build of FerretDB failed"; }
  mv -f "$BIN.tmp.$$" "$BIN"
  echo "$BIN"
}

case "${1:-build}" in
  build) build ;;
  path) echo "$BIN" ;;
  *) die "unknown command '${1}' (use: build | path)" ;;
esac
