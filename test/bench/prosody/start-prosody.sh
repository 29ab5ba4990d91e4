#!/usr/bin/env bash
# Starts the tuned Prosody 0.12 MUC anchor on 127.0.0.1:55222 in DIR (default: a new temporary
# folder), with N accounts u1..uN (password "pw"), and prints its PID. Needs `apt-get install -y
# prosody` once. Stop it with `kill <PID>`.
# PROSODY_CONFIG picks the configuration beside this script (default prosody-tuned.cfg.lua);
# prosody-mam.cfg.lua archives the rooms (MAM) in PostgreSQL at 127.0.0.1:$PG_PORT, database
# $PG_DATABASE (user postgres, trust), which needs `apt-get install -y lua-dbi-postgresql`.
# Taken from the performance anchor (shared/perf); only the configuration choice is ours.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dir="${1:-$(mktemp -d)}"
n="${N_ACCOUNTS:-1000}"
config="${PROSODY_CONFIG:-prosody-tuned.cfg.lua}"
command -v prosody >/dev/null || { echo "prosody is not installed: apt-get install -y prosody" >&2; exit 3; }
mkdir -p "$dir/data/localhost/accounts" "$dir/log"
for i in $(seq 1 "$n"); do echo 'return { ["password"] = "pw"; };' > "$dir/data/localhost/accounts/u$i.dat"; done
sed -e "s#__DIR__#$dir#g" -e "s#__PG_PORT__#${PG_PORT:-5432}#g" -e "s#__PG_DATABASE__#${PG_DATABASE:-prosody}#g" \
  "$here/$config" > "$dir/prosody.cfg.lua"
chown -R prosody:prosody "$dir" 2>/dev/null || true
ulimit -n 20000
nohup setpriv --reuid=prosody --regid=prosody --init-groups prosody --config "$dir/prosody.cfg.lua" -F > "$dir/log/stdout.log" 2>&1 &
for _ in $(seq 1 50); do (echo > /dev/tcp/127.0.0.1/55222) 2>/dev/null && break; sleep 0.1; done
ps -u prosody -o pid=,args= | grep "prosody --config $dir" | awk '{print $1}' | tail -1
