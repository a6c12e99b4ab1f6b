#!/bin/sh
# Run once by the postgres image, on the first start with an empty data volume: the two roles
# of docs/deployment.md ("PostgreSQL roles") and the database. loandesk_owner owns the schema
# and runs the migrations; loandesk_app is what the app connects as, NOSUPERUSER NOBYPASSRLS
# and owning no table, so that row-level security binds it (`loandesk db upgrade` grants it
# its rights); loandesk_backup is what `loandesk backup` dumps as: it bypasses row-level
# security and reads every table (pg_read_all_data), and may change nothing. Changing the passwords in .env later does not change them here: use ALTER ROLE.
set -eu

: "${DB_OWNER_PASSWORD:?set DB_OWNER_PASSWORD in .env}"
: "${DB_APP_PASSWORD:?set DB_APP_PASSWORD in .env}"
: "${DB_BACKUP_PASSWORD:?set DB_BACKUP_PASSWORD in .env}"
for password in "$DB_OWNER_PASSWORD" "$DB_APP_PASSWORD" "$DB_BACKUP_PASSWORD"; do
    case "$password" in
        change-me*)
            echo "10-loandesk-roles.sh: the database passwords in .env are still the examples" >&2
            exit 1
            ;;
    esac
done

psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname postgres \
    -v owner_password="$DB_OWNER_PASSWORD" -v app_password="$DB_APP_PASSWORD" \
    -v backup_password="$DB_BACKUP_PASSWORD" <<'SQL'
CREATE ROLE loandesk_owner LOGIN PASSWORD :'owner_password';
CREATE ROLE loandesk_app LOGIN PASSWORD :'app_password' NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
CREATE ROLE loandesk_backup LOGIN PASSWORD :'backup_password' NOSUPERUSER BYPASSRLS NOCREATEDB NOCREATEROLE;
GRANT pg_read_all_data TO loandesk_backup;
CREATE DATABASE loandesk OWNER loandesk_owner;
SQL
