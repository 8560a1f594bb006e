#!/usr/bin/env bash
# Run a command with TEST_DATABASE_URL pointing at a throwaway database on the local PostgreSQL
# server (started if it is not running); the database is dropped afterwards.
set -euo pipefail
host=${PG_HOST:-127.0.0.1}
port=${PG_PORT:-5432}
user=${PG_USER:-postgres}

if ! pg_isready -q -h "$host" -p "$port" 2>/dev/null; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    echo "starting PostgreSQL on $host:$port"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start || true
  fi
  for _ in $(seq 1 30); do pg_isready -q -h "$host" -p "$port" && break; sleep 1; done
fi
if ! pg_isready -q -h "$host" -p "$port" 2>/dev/null; then
  echo "PostgreSQL is not reachable at $host:$port; the PostgreSQL leg cannot run" >&2
  exit 1
fi

db="survey_test_$$_$(date +%s)"
psql -q -h "$host" -p "$port" -U "$user" -d postgres -c "CREATE DATABASE $db" >/dev/null
trap 'psql -q -h "$host" -p "$port" -U "$user" -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null' EXIT
echo "PostgreSQL leg: database $db on $host:$port"
TEST_DATABASE_URL="postgresql://$user@$host:$port/$db" "$@"
