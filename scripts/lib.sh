# Shared shell helpers for scripts/demo, scripts/test and the integration
# tests: install packages, build, and start a private PostgreSQL and Redis on
# free loopback ports in a temporary directory. Source it; do not run it.

JS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
JS_PACKAGES="build-essential cmake pkg-config libcurl4-openssl-dev libcjson-dev libpq-dev
  libhiredis-dev libmicrohttpd-dev libcmocka-dev postgresql redis-server curl clang
  libclang-rt-14-dev procps bc time jq"

js_sudo() {
	if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

js_install_deps() {
	local missing=""
	for p in $JS_PACKAGES; do
		dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
	done
	# Node.js and npm run the GraphQL conformance peer (graphql-js) and the
	# benchmark peers; a Node.js installed some other way is fine.
	command -v node >/dev/null 2>&1 || missing="$missing nodejs"
	command -v npm >/dev/null 2>&1 || missing="$missing npm"
	if [ -n "$missing" ]; then
		echo "installing:$missing" >&2
		js_sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
		js_sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
	fi
}

# js_build DIR [cmake args...]
js_build() {
	local dir=$1; shift
	cmake -S "$JS_ROOT" -B "$dir" -DJIRASYNC_WERROR=ON "$@" >/dev/null
	cmake --build "$dir" -j"$(nproc)" 2>&1 | grep -v '^\[' || true
	test -x "$dir/jirasync"
}

js_pg_bindir() {
	ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

# A free TCP port on 127.0.0.1 (nothing answers a connect on it).
# Ports are drawn below the kernel's ephemeral range, so that no outgoing
# connection's local port can take one between this check and the bind.
js_free_port() {
	local port lo=32768 span
	read -r lo _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true
	[ "$lo" -gt 11000 ] || lo=32768
	span=$((lo - 10000))
	for _ in $(seq 1 200); do
		port=$((10000 + RANDOM % span))
		if ! (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then
			echo "$port"
			return 0
		fi
	done
	return 1
}

# Start PostgreSQL and Redis under $JS_TMP; exports DATABASE_URL, REDIS_URL,
# JS_PG_PORT, JS_REDIS_PORT. PostgreSQL refuses to run as root, so it runs
# as the postgres user when we are root. JS_PG_OPTS: more server options
# ("-c name=value ...") for experiments.
js_start_services() {
	: "${JS_TMP:=$(mktemp -d /tmp/jirasync.XXXXXX)}"
	export JS_TMP
	chmod 755 "$JS_TMP"
	local bin; bin=$(js_pg_bindir)
	local pgdata="$JS_TMP/pg"
	local as=""
	if [ "$(id -u)" = 0 ]; then as="runuser -u postgres --"; fi
	mkdir -p "$pgdata"
	[ -n "$as" ] && chown postgres "$pgdata"
	$as "$bin/initdb" -D "$pgdata" -U jirasync -A trust -E UTF8 --no-sync >"$JS_TMP/initdb.log" 2>&1 ||
		{ cat "$JS_TMP/initdb.log" >&2; return 1; }
	local try
	for try in 1 2 3; do # another process may bind the port first: pick another
		JS_PG_PORT=$(js_free_port)
		$as "$bin/pg_ctl" -D "$pgdata" -l "$pgdata/server.log" -w -t 60 \
			-o "-c listen_addresses=127.0.0.1 -p $JS_PG_PORT -k $pgdata -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200 ${JS_PG_OPTS:-}" \
			start >/dev/null && break
		[ "$try" = 3 ] && { cat "$pgdata/server.log" >&2; return 1; }
	done
	"$bin/createdb" -h 127.0.0.1 -p "$JS_PG_PORT" -U jirasync jirasync
	export JS_PG_PORT
	export DATABASE_URL="postgres://jirasync@127.0.0.1:$JS_PG_PORT/jirasync"

	mkdir -p "$JS_TMP/redis"
	local up=0
	for try in 1 2 3; do
		JS_REDIS_PORT=$(js_free_port)
		redis-server --port "$JS_REDIS_PORT" --bind 127.0.0.1 --dir "$JS_TMP/redis" \
			--save "" --appendonly no --daemonize yes --pidfile "$JS_TMP/redis/redis.pid" \
			--logfile "$JS_TMP/redis/redis.log" >/dev/null
		for _ in $(seq 1 50); do
			redis-cli -p "$JS_REDIS_PORT" ping >/dev/null 2>&1 && { up=1; break; }
			sleep 0.1
		done
		[ "$up" = 1 ] && break
	done
	[ "$up" = 1 ] || { cat "$JS_TMP/redis/redis.log" >&2; return 1; }
	export JS_REDIS_PORT
	export REDIS_URL="redis://127.0.0.1:$JS_REDIS_PORT"
}

js_stop_services() {
	[ -n "${JS_TMP:-}" ] || return 0
	local bin; bin=$(js_pg_bindir)
	local as=""
	if [ "$(id -u)" = 0 ]; then as="runuser -u postgres --"; fi
	if [ -f "$JS_TMP/redis/redis.pid" ]; then
		kill "$(cat "$JS_TMP/redis/redis.pid")" 2>/dev/null || true
	fi
	if [ -d "$JS_TMP/pg" ]; then
		$as "$bin/pg_ctl" -D "$JS_TMP/pg" -m immediate stop >/dev/null 2>&1 || true
	fi
	if [ -f "$JS_TMP/sim.pid" ]; then
		kill "$(cat "$JS_TMP/sim.pid")" 2>/dev/null || true
	fi
	rm -rf "$JS_TMP"
}

# Start the Jira simulator: js_start_sim BUILD_DIR [sim flags...]; exports
# JIRA_BASE_URL and JS_SIM_URL (same server; the control API is under /_sim).
js_start_sim() {
	local dir=$1; shift
	local port pid try up=0
	for try in 1 2 3; do # another process may bind the port first: pick another
		port=$(js_free_port)
		"$dir/jira-sim" --port "$port" "$@" >"$JS_TMP/sim.log" 2>&1 &
		pid=$!
		echo "$pid" >"$JS_TMP/sim.pid"
		for _ in $(seq 1 300); do
			curl -fsS "http://127.0.0.1:$port/_sim/health" >/dev/null 2>&1 && { up=1; break; }
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		[ "$up" = 1 ] && break
		kill "$pid" 2>/dev/null || true
	done
	[ "$up" = 1 ] || { echo "the Jira simulator did not start:" >&2; cat "$JS_TMP/sim.log" >&2; return 1; }
	export JIRA_BASE_URL="http://127.0.0.1:$port"
	export JS_SIM_URL="$JIRA_BASE_URL"
}
