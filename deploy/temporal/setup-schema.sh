#!/bin/sh
# Creates Temporal's two databases and brings their schemas up to the version of the
# admin-tools image, then exits. Runs (temporalio/admin-tools) before the server starts.
#
# Safe to re-run, which is also how a Temporal upgrade gets its schema changes (bump the
# admin-tools and server tags together):
#   create             treats "database already exists" as success;
#   setup-schema -v 0  only creates the version tables and never lowers a recorded version;
#   update-schema      applies only the versioned steps not yet applied.
# Same steps as Temporal's own compose sample (temporalio/samples-server,
# compose/scripts/setup-postgres.sh) and tools/sql/README.md.
#
# Connection settings come from the environment, read by temporal-sql-tool itself:
# SQL_PLUGIN, SQL_HOST, SQL_PORT, SQL_USER, SQL_PASSWORD.
set -eu

: "${SQL_PLUGIN:=postgres12}"
: "${SQL_HOST:?}"
: "${SQL_PORT:=5432}"
: "${SQL_USER:?}"
: "${SQL_PASSWORD:?}"
: "${TEMPORAL_DBNAME:=temporal}"
: "${TEMPORAL_VISIBILITY_DBNAME:=temporal_visibility}"
export SQL_PLUGIN SQL_HOST SQL_PORT SQL_USER SQL_PASSWORD

SCHEMA_DIR=/etc/temporal/schema/postgresql/v12

setup() {
  db=$1
  dir=$2
  echo "schema: ${db} (${dir})"
  # Compose starts this job once PostgreSQL's healthcheck passes; the retries only cover a
  # server that is still settling (e.g. restarted after initialisation).
  tries=0
  until temporal-sql-tool --db "$db" create; do
    tries=$((tries + 1))
    if [ "$tries" -ge 10 ]; then
      echo "could not create database ${db} on ${SQL_HOST}:${SQL_PORT}" >&2
      exit 1
    fi
    sleep 3
  done
  temporal-sql-tool --db "$db" setup-schema -v 0.0
  temporal-sql-tool --db "$db" update-schema -d "${SCHEMA_DIR}/${dir}/versioned"
}

setup "$TEMPORAL_DBNAME" temporal
setup "$TEMPORAL_VISIBILITY_DBNAME" visibility
echo "Temporal schemas are up to date"
