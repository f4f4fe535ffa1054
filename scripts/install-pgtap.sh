#!/usr/bin/env bash
# Installs pgTAP's SQL and `pg_prove` from Debian packages so the database tests in supabase/tests run
# (test/library/pgtap.test.ts loads the SQL into the test database itself: no CREATE EXTENSION needed, so the
# PostgreSQL major of the package does not have to match the server's).
# Idempotent: does nothing when both are already there. Needs root (or sudo) and an apt source.
# Env: PGTAP_PG_MAJOR  the postgresql-<major>-pgtap package to use (default: the installed postgresql-<major>
#                      server, else the newest one apt offers).
set -euo pipefail

die() { echo "install-pgtap.sh: $*" >&2; exit 1; }

pgtap_sql_present() { compgen -G "/usr/share/postgresql/*/extension/pgtap--*.sql" >/dev/null; }

if command -v pg_prove >/dev/null && pgtap_sql_present; then
  echo "install-pgtap.sh: pg_prove and pgTAP SQL already installed"
  exit 0
fi

command -v apt-get >/dev/null || die "apt-get not found: install pgTAP (postgresql-<major>-pgtap) and pg_prove by hand"
SUDO=""
if [[ "$(id -u)" != 0 ]]; then
  command -v sudo >/dev/null || die "run as root or install sudo"
  SUDO="sudo"
fi

export DEBIAN_FRONTEND=noninteractive
# A fresh machine has no package lists yet; refresh when apt cannot see any pgtap package.
if ! apt-cache pkgnames postgresql- 2>/dev/null | grep -Eq '^postgresql-[0-9]+-pgtap$'; then
  $SUDO apt-get update -qq || die "apt-get update failed"
fi

major="${PGTAP_PG_MAJOR:-}"
if [[ -z "$major" ]]; then
  major="$(dpkg-query -W -f='${Package}\n' 'postgresql-[0-9]*' 2>/dev/null \
    | sed -n 's/^postgresql-\([0-9][0-9]*\)$/\1/p' | sort -n | tail -1 || true)"
fi
if [[ -z "$major" ]]; then
  major="$(apt-cache pkgnames postgresql- | sed -n 's/^postgresql-\([0-9][0-9]*\)-pgtap$/\1/p' | sort -n | tail -1)"
fi
[[ -n "$major" ]] || die "no postgresql-<major>-pgtap package is available from apt"

echo "install-pgtap.sh: installing postgresql-$major-pgtap and libtap-parser-sourcehandler-pgtap-perl"
$SUDO apt-get install -y -qq --no-install-recommends "postgresql-$major-pgtap" libtap-parser-sourcehandler-pgtap-perl \
  || die "apt-get install failed"

command -v pg_prove >/dev/null || die "pg_prove is still missing after the install"
pgtap_sql_present || die "pgTAP SQL (/usr/share/postgresql/*/extension/pgtap--*.sql) is still missing after the install"
echo "install-pgtap.sh: ready ($(command -v pg_prove))"
