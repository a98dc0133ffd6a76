#!/usr/bin/env bash
# Installs, from Debian's packages, what the test suite needs and a fresh machine
# may lack: redis-server (Redis engine tests start their own when none answers),
# nats-server (NATS engine tests start their own),
# chromium (browser tests; never a downloaded browser), python3-websockets (a
# real client peer), openssl (TLS tests make their certificates) and curl (the
# SSE tests drive `curl -N`). Already
# present → prints nothing and changes nothing. Run by `npm test` (pretest).
set -euo pipefail

# The paths the tests use (overridable only so this script's own test can fake a missing one).
chromium=${HERALD_TEST_CHROMIUM:-/usr/bin/chromium}
python=${HERALD_TEST_PYTHON:-/usr/bin/python3}

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
[ -x /usr/sbin/nats-server ] || command -v nats-server >/dev/null 2>&1 || missing+=(nats-server)
[ -x "$chromium" ] || missing+=(chromium)
"$python" -c 'import websockets' >/dev/null 2>&1 || missing+=(python3-websockets)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v curl >/dev/null 2>&1 || missing+=(curl)

[ ${#missing[@]} -eq 0 ] && exit 0

echo "test setup: missing Debian packages: ${missing[*]}" >&2
if [ "${HERALD_TEST_NO_INSTALL:-}" = 1 ]; then
  echo "test setup: HERALD_TEST_NO_INSTALL=1, not installing; tests needing them will fail" >&2
  exit 0
fi
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi; }
echo "test setup: installing them with apt-get" >&2
as_root apt-get update -qq || echo "test setup: apt-get update failed; trying the install anyway" >&2
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "test setup: installed ${missing[*]}" >&2
