# shellcheck shell=bash
# tests/lib/sampler.sh: sample the number of PostgreSQL backends while a load runs.
# Source it, then:
#   sampler_start WORKDIR PGDIR PGPORT USER DB [INTERVAL_MS]   start sampling in the background
#   sampler_stop WORKDIR      stop; prints "peak=N samples=S last=L"
#   sampler_peak WORKDIR      the peak so far (a number)
# Uses php with pdo_pgsql as the superuser over PostgreSQL's Unix socket (tests/lib/pg.sh).

sampler_lib=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

sampler_start() {
	local work=$1 pgdir=$2 port=$3 user=$4 db=$5 interval=${6:-10}
	mkdir -p "$work"
	rm -f "$work/sampler.stop" "$work/sampler.out"
	php -n -d extension=pdo -d extension=pdo_pgsql "$sampler_lib/php/backend_sampler.php" \
		"$pgdir" "$port" "$work/sampler.out" "$work/sampler.stop" "$user" "$db" "$interval" \
		>"$work/sampler.log" 2>&1 &
	echo $! >"$work/sampler.pid"
	for _ in $(seq 1 50); do
		[ -s "$work/sampler.out" ] && return 0
		kill -0 "$(cat "$work/sampler.pid")" 2>/dev/null || break
		sleep 0.1
	done
	echo "backend sampler did not start:" >&2
	cat "$work/sampler.log" >&2
	return 1
}

sampler_stop() {
	local work=$1 pid
	touch "$work/sampler.stop"
	pid=$(cat "$work/sampler.pid" 2>/dev/null) || true
	if [ -n "${pid:-}" ]; then
		for _ in $(seq 1 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	rm -f "$work/sampler.pid"
	cat "$work/sampler.out" 2>/dev/null || echo "peak=? samples=0 last=?"
}

sampler_peak() {
	sed -n 's/^peak=\([0-9]*\).*/\1/p' "$1/sampler.out" 2>/dev/null
}
