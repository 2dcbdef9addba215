-- First-start initialisation of the Gatehouse database (pgvector/pgvector image).
-- The image's entrypoint runs this once, on an empty data directory, as the superuser
-- (POSTGRES_USER) connected to POSTGRES_DB, with ON_ERROR_STOP. Later starts skip it.
--
-- Why: the service should not run as a superuser, and a non-superuser cannot
-- `CREATE EXTENSION vector` (pgvector is not a trusted extension). So the superuser
-- creates the extension here, and the service's own migration
-- (infra/db/migrations/001_init.sql: CREATE EXTENSION IF NOT EXISTS vector) finds it
-- and does nothing. The service role owns the database, and therefore (PostgreSQL 15+)
-- its public schema, so its migrations can create everything else.
--
-- The password comes from the container's environment (\getenv needs psql 15+; the pg16
-- and pg17 images qualify), never from this file.

\getenv gatehouse_password GATEHOUSE_DB_PASSWORD
\if :{?gatehouse_password}
\else
  \warn 'GATEHOUSE_DB_PASSWORD is not set in the gatehouse-db container'
  SELECT 1/0 AS gatehouse_db_password_missing;
\endif

CREATE ROLE gatehouse LOGIN PASSWORD :'gatehouse_password';
SELECT current_database() AS gatehouse_db \gset
ALTER DATABASE :"gatehouse_db" OWNER TO gatehouse;
REVOKE ALL ON DATABASE :"gatehouse_db" FROM PUBLIC;

CREATE EXTENSION IF NOT EXISTS vector;
