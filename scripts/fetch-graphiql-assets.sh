#!/usr/bin/env bash
# Fetches GraphiQL's browser bundles through npm into assets/graphiql/ (git-
# ignored), so /graphql serves GraphiQL with no network access. Third-party
# minified files are never committed; this script is the documented step
# (the Dockerfile and CI run it too).
#
#   bash scripts/fetch-graphiql-assets.sh [DEST]   # default: assets/graphiql
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
dest=${1:-assets/graphiql}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Pinned: graphiql 4.1.2's UMD build runs on React 18.3.1's UMD files.
packages=(graphiql@4.1.2 react@18.3.1 react-dom@18.3.1 graphql-ws@5.16.2)
(cd "$work" && npm pack --silent "${packages[@]}" >/dev/null)
for tarball in "$work"/*.tgz; do
    name=$(basename "$tarball" .tgz)
    mkdir -p "$work/$name"
    tar xzf "$tarball" -C "$work/$name"
done

mkdir -p "$dest"
cp "$work"/graphiql-4.1.2/package/graphiql.min.js "$dest/graphiql.min.js"
cp "$work"/graphiql-4.1.2/package/graphiql.min.css "$dest/graphiql.min.css"
cp "$work"/react-18.3.1/package/umd/react.production.min.js "$dest/react.production.min.js"
cp "$work"/react-dom-18.3.1/package/umd/react-dom.production.min.js "$dest/react-dom.production.min.js"
cp "$work"/graphql-ws-5.16.2/package/umd/graphql-ws.min.js "$dest/graphql-ws.min.js"
echo "GraphiQL assets written to $dest:"
ls -l "$dest"
