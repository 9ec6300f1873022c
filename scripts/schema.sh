#!/usr/bin/env bash
# The schema check that federation teams run in CI.
#   schema.sh write   export each subgraph's SDL from its binary, compose the supergraph
#   schema.sh check   fail if the committed files differ from what the code produces
# Composition uses @theguild/federation-composition (schema/compose.mjs), as Hive does.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SUBGRAPHS=(users accounts transactions notifications loans payments)

export_sdl() {
  local out_dir="$1" name
  for name in "${SUBGRAPHS[@]}"; do
    [ -x "$BIN/$name" ] || die "$BIN/$name is missing: run cargo build --workspace --bins first"
    "$BIN/$name" sdl >"$out_dir/$name.graphql"
  done
}

case "${1:-}" in
  write)
    export_sdl "$ROOT/schema/subgraphs"
    node "$ROOT/schema/compose.mjs"
    ;;
  check)
    tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"' EXIT
    export_sdl "$tmp"
    status=0
    for name in "${SUBGRAPHS[@]}"; do
      if ! diff -u "$ROOT/schema/subgraphs/$name.graphql" "$tmp/$name.graphql" >"$tmp/$name.diff"; then
        warn "schema/subgraphs/$name.graphql differs from what the $name service produces:"
        head -n 40 "$tmp/$name.diff" >&2
        status=1
      fi
    done
    node "$ROOT/schema/compose.mjs" --dir "$tmp" --check || status=1
    [ $status -eq 0 ] || die "the committed schema is out of date; run \`make schema\` and commit the result"
    ok "schema/ matches the code"
    ;;
  *) die "usage: schema.sh write|check" ;;
esac
