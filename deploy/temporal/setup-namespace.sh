#!/bin/sh
# Runs (temporalio/admin-tools, `temporal` CLI) once the server answers, then exits:
#   1. waits for `temporal operator cluster health` to report SERVING;
#   2. registers the namespace if it does not exist (the server image, unlike the retired
#      auto-setup image, creates none);
#   3. registers Gatehouse's search attributes GatehouseTenant and GatehouseTaskType
#      (Keyword) if missing;
#   4. waits until the frontend accepts a query on them.
#
# Step 3 is also what the API does on every start (infra/main.ts calls
# ensureSearchAttributes from infra/temporal.ts whenever TEMPORAL_ADDRESS is set; the
# standalone worker does not). It is done here as well because with SQL visibility a new
# attribute only becomes usable after the frontend's namespace cache refreshes
# (temporalio/temporal#4017, #6195): registering it here, and waiting in step 4, means
# the API's first workflow start with typedSearchAttributes cannot hit that window. The
# dynamic-config switch that would hide it (system.forceSearchAttributesCacheRefreshOnRead)
# is documented as dev-only. When the API finds them present, its own call is a no-op.
#
# Every step is idempotent, so re-running (every `docker compose up`) is harmless.
set -eu

: "${TEMPORAL_ADDRESS:?host:port of the Temporal frontend}"
: "${GATEHOUSE_NAMESPACE:=default}"
: "${GATEHOUSE_NAMESPACE_RETENTION:=168h}"

# As in Temporal's compose sample (create-namespace.sh): dial the IPv4 address, since the
# server binds 0.0.0.0 and the name may also resolve to an IPv6 address.
host=${TEMPORAL_ADDRESS%:*}
port=${TEMPORAL_ADDRESS##*:}
ip=$(getent ahosts "$host" | awk '/STREAM/ && $1 ~ /^[0-9.]+$/ { print $1; exit }')
address="${ip:-$host}:${port}"
ns=$GATEHOUSE_NAMESPACE

retry() {
  # retry <attempts> <what> <command...>: the server may still be joining its ring.
  attempts=$1
  what=$2
  shift 2
  n=0
  until "$@"; do
    n=$((n + 1))
    if [ "$n" -ge "$attempts" ]; then
      echo "gave up: ${what}" >&2
      return 1
    fi
    echo "waiting: ${what} (${n}/${attempts})" >&2
    sleep 3
  done
}

retry 40 "cluster health at ${address}" temporal operator cluster health --address "$address"

if temporal operator namespace describe --address "$address" --namespace "$ns" >/dev/null 2>&1; then
  echo "namespace ${ns} exists"
else
  echo "creating namespace ${ns} (retention ${GATEHOUSE_NAMESPACE_RETENTION})"
  retry 10 "namespace ${ns}" temporal operator namespace create --address "$address" \
    --namespace "$ns" --retention "$GATEHOUSE_NAMESPACE_RETENTION"
fi

# `namespace describe` reads the database, but other calls go through the frontend's
# namespace cache, which learns of a new namespace only at its next refresh: wait for it.
retry 20 "namespace ${ns} usable" temporal operator search-attribute list --address "$address" --namespace "$ns" >/dev/null

for name in GatehouseTenant GatehouseTaskType; do
  if temporal operator search-attribute list --address "$address" --namespace "$ns" | grep -qw "$name"; then
    echo "search attribute ${name} exists"
  else
    echo "creating search attribute ${name} (Keyword)"
    retry 10 "search attribute ${name}" temporal operator search-attribute create --address "$address" \
      --namespace "$ns" --name "$name" --type Keyword
  fi
done

# The frontend resolves these names through the same cache when a workflow starts with
# them: once this query parses, starts will too.
retry 40 "search attributes usable in ${ns}" temporal workflow list --address "$address" --namespace "$ns" \
  --query "GatehouseTenant = 'probe' AND GatehouseTaskType = 'probe'" --limit 1 >/dev/null
echo "namespace ${ns} ready for Gatehouse"
