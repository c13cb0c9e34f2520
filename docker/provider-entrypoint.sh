#!/bin/sh
# provider-entrypoint.sh: first start of a provider container (docker-compose.yml, service
# `provider`). Each replica of `docker compose up --scale provider=N` is a node of its own: it
# makes its Ed25519 identity in its own filesystem, registers it with the registry (a signed
# request: no token), then runs the executor (the command given, duxos-tasks by default).
#
# Environment: DUXOS_PROVIDER_WALLET (the Flopcoin address the node is paid to; required),
# DUXOS_REGISTRY_URL (default http://registry:8101), DUXOS_PROVIDER_NETWORK (default mainnet).
set -eu

KEY=${DUXOS_TASKS_NODE_KEY_FILE:-/var/lib/duxos/node-key}
REGISTRY=${DUXOS_REGISTRY_URL:-http://registry:8101}

if [ -z "${DUXOS_PROVIDER_WALLET:-}" ]; then
    echo "provider: DUXOS_PROVIDER_WALLET is not set (the address this node is paid to)" >&2
    exit 78
fi
if [ ! -s "$KEY" ]; then
    mkdir -p "$(dirname "$KEY")"
    (umask 077 && openssl genpkey -algorithm ed25519 -out "$KEY")
fi
# The registry may still be starting (depends_on waits for its health check, not for every
# restart): a few tries, then give up and let the restart policy try again.
tries=0
until duxctl --registry "$REGISTRY" node register --key "$KEY" \
    --wallet "$DUXOS_PROVIDER_WALLET" --network "${DUXOS_PROVIDER_NETWORK:-mainnet}" \
    --ip "$(hostname -i | cut -d' ' -f1)" --port 8115 --capability task_execution; do
    tries=$((tries + 1))
    [ "$tries" -lt 10 ] || exit 1
    sleep 2
done
export DUXOS_TASKS_NODE_KEY_FILE="$KEY"
exec "$@"
