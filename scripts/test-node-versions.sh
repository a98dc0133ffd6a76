#!/usr/bin/env bash
# Run the test suite under several Node.js majors, with the `node` package from
# the npm registry (it ships the official binaries), without changing the
# system's Node: `npm exec --package=node@22 -- node …` puts that binary first
# on PATH, and scripts/run-tests.mjs starts every test file with it
# (process.execPath), so each file runs on the version under test.
#
#   scripts/test-node-versions.sh                 # npm test under Node 20, 22 and 24
#   NODE_VERSIONS="22" scripts/test-node-versions.sh --unit
#
# Arguments go to scripts/run-tests.mjs (--unit, filters, --transport-net).
# The build is made once with the current Node (tsc's output does not depend
# on the runtime). Exit status: 0 when every version passed.
set -u
cd "$(dirname "$0")/.."

versions=${NODE_VERSIONS:-"20 22 24"}
case " $* " in
  *" --unit "*) ;;
  *) bash scripts/ensure-test-deps.sh || exit 1 ;; # Redis, Chromium, Python websockets, as npm test
esac
npm run build --silent || exit 1

failed=()
for major in $versions; do
  runtime=$(npm exec --yes --package="node@${major}" -- node --version) || { failed+=("$major (node@$major not installed)"); continue; }
  echo "=== Node ${runtime} (node@${major} from the npm registry) ==="
  if ! npm exec --yes --package="node@${major}" -- node scripts/run-tests.mjs "$@"; then
    failed+=("$runtime")
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED on: ${failed[*]}" >&2
  exit 1
fi
echo "passed on Node: $versions"
