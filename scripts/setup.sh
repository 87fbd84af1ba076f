#!/usr/bin/env bash
# Installs what a fresh Debian machine needs to build, demo and test Collabo:
# Japanese fonts for letters, poppler (pdftotext/pdftoppm) and xmllint for tests,
# Chromium + ChromeDriver for the browser test, and a running PostgreSQL.
# Idempotent: installs only what is missing. Needs root (or sudo).
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

packages=(fonts-ipaexfont fonts-noto-cjk poppler-utils libxml2-utils chromium chromium-driver postgresql)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# PostgreSQL at 127.0.0.1:5432 with a database `test` (trust auth on this machine kind).
if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  echo "setup: starting PostgreSQL"
  cluster=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
  if [ -z "$cluster" ]; then
    echo "setup: no PostgreSQL cluster found after install" >&2
    exit 1
  fi
  $SUDO pg_ctlcluster --skip-systemctl-redirect "$cluster" main start || true
  for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
fi
if ! pg_isready -h 127.0.0.1 -p 5432 -q; then
  echo "setup: PostgreSQL is not answering on 127.0.0.1:5432" >&2
  exit 1
fi
if ! psql -h 127.0.0.1 -U postgres -d test -tAc 'select 1' >/dev/null 2>&1; then
  # A machine where the trust-auth `test` database does not exist yet.
  $SUDO su postgres -c "psql -tAc \"select 1 from pg_database where datname='test'\" | grep -q 1 || createdb test" || true
fi
psql -h 127.0.0.1 -U postgres -d test -tAc 'select 1' >/dev/null
echo "setup: ok"
