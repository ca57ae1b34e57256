#!/usr/bin/env bash
# Throwaway PostgreSQL for the `postgres`-marked tests. Source it:  source .ci/postgres.sh
# Installs Debian's `postgresql` when neither pg_ctlcluster nor initdb exists, initialises a
# cluster under $MITOGAN_PG_DIR (default /tmp/mitogan-pg, owned by the `postgres` user when run
# as root), starts it on 127.0.0.1 at a free port (trust auth: local, disposable), creates the
# database `mitogan_test` and exports MITOGAN_TEST_PG_URL. Idempotent: a second source reuses the
# running cluster. Stop it with:  "$MITOGAN_PG_BIN/pg_ctl" -D "$MITOGAN_PG_DIR/data" stop

_mitogan_pg() {
    local dir="${MITOGAN_PG_DIR:-/tmp/mitogan-pg}" bin port as=()
    if ! command -v pg_ctlcluster >/dev/null 2>&1 && ! command -v initdb >/dev/null 2>&1 \
            && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
        echo "postgres.sh: installing postgresql (apt-get)" >&2
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null \
            || { echo "postgres.sh: apt-get install postgresql failed" >&2; return 1; }
    fi
    bin="$(dirname "$(ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1)")"
    [ -x "$bin/initdb" ] || bin="$(dirname "$(command -v initdb)")"
    [ -x "$bin/pg_ctl" ] || { echo "postgres.sh: no pg_ctl beside initdb ($bin)" >&2; return 1; }
    if [ "$(id -u)" = 0 ]; then as=(runuser -u postgres --); fi

    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres: "$dir"
    if ! "${as[@]}" "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
        if [ ! -f "$dir/data/PG_VERSION" ]; then
            "${as[@]}" "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 >/dev/null \
                || { echo "postgres.sh: initdb failed" >&2; return 1; }
        fi
        port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
        echo "$port" > "$dir/port"
        [ "$(id -u)" = 0 ] && chown postgres: "$dir/port"
        "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 30 \
            -o "-h 127.0.0.1 -p $port -k $dir -c max_connections=200" start >/dev/null \
            || { echo "postgres.sh: server did not start (see $dir/log)" >&2; return 1; }
    fi
    port="$(cat "$dir/port")"
    if ! "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -tAc \
            "SELECT 1 FROM pg_database WHERE datname='mitogan_test'" | grep -q 1; then
        "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -qc "CREATE DATABASE mitogan_test" \
            || { echo "postgres.sh: CREATE DATABASE failed" >&2; return 1; }
    fi
    export MITOGAN_PG_DIR="$dir" MITOGAN_PG_BIN="$bin"
    export MITOGAN_TEST_PG_URL="postgresql://postgres@127.0.0.1:$port/mitogan_test"
    echo "postgres.sh: $MITOGAN_TEST_PG_URL" >&2
}
_mitogan_pg
