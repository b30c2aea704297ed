# shellcheck shell=bash
# tests/lib/fcgi.sh: send requests to php-fpm over FastCGI with cgi-fcgi (libfcgi-bin).
# Source it, then:
#   fcgi_get SOCK SCRIPT [QUERY_STRING]   one GET request; prints the response body; exit 1 if
#                                         php-fpm answered with an error status
#   fcgi_load SOCK SCRIPT TOTAL PARALLEL OUTDIR
#       TOTAL requests to SCRIPT (tests/lib/php/demo_page.php) from PARALLEL concurrent loops.
#       Request j of loop i asks for row id ((i * 97 + j) % 1000) + 1 with tag "w<i>-r<j>"; a
#       response is correct only if it is "OK tag=<that tag> ...". Writes every response line to
#       OUTDIR/responses (wrong ones also to OUTDIR/bad) and prints
#       "requests=N ok=K bad=B seconds=S rps=R workers=W backends=D" (W distinct php-fpm pids and
#       D distinct PostgreSQL backend pids among the correct responses). Exit 1 if any was wrong.

fcgi_get() {
	local sock=$1 script=$2 query=${3:-} resp head
	resp=$(SCRIPT_FILENAME=$script SCRIPT_NAME=/$(basename "$script") REQUEST_METHOD=GET \
		QUERY_STRING=$query SERVER_PROTOCOL=HTTP/1.1 GATEWAY_INTERFACE=CGI/1.1 \
		cgi-fcgi -bind -connect "$sock" 2>&1) || { echo "$resp"; return 1; }
	head=${resp%%$'\r\n\r\n'*}
	printf '%s\n' "${resp#*$'\r\n\r\n'}"
	case $head in
	Status:* | *$'\n'Status:*) return 1 ;;
	esac
	return 0
}

# fcgi_load_loop SOCK SCRIPT I COUNT OUT: one client loop; "ok bad" into OUT.count.
fcgi_load_loop() {
	local sock=$1 script=$2 i=$3 count=$4 out=$5 j tag body ok=0 bad=0
	: >"$out"
	for ((j = 1; j <= count; j++)); do
		tag="w$i-r$j"
		body=$(fcgi_get "$sock" "$script" "id=$(((i * 97 + j) % 1000 + 1))&tag=$tag") || true
		body=${body%%$'\n'*}
		echo "$body" >>"$out"
		case $body in
		"OK tag=$tag "*) ok=$((ok + 1)) ;;
		*) bad=$((bad + 1)); echo "$tag: $body" >>"$out.bad" ;;
		esac
	done
	echo "$ok $bad" >"$out.count"
}

fcgi_load() {
	local sock=$1 script=$2 total=$3 parallel=$4 outdir=$5 i n pids=() start end ok=0 bad=0 a b
	mkdir -p "$outdir"
	rm -f "$outdir"/loop-* "$outdir/responses" "$outdir/bad"
	start=$(date +%s.%N)
	for ((i = 0; i < parallel; i++)); do
		n=$((total / parallel + (i < total % parallel ? 1 : 0)))
		fcgi_load_loop "$sock" "$script" "$i" "$n" "$outdir/loop-$i" &
		pids+=($!)
	done
	wait "${pids[@]}" || true
	end=$(date +%s.%N)
	for ((i = 0; i < parallel; i++)); do
		if read -r a b <"$outdir/loop-$i.count" 2>/dev/null; then
			ok=$((ok + a))
			bad=$((bad + b))
		else
			bad=$((bad + 1))
			echo "loop $i did not finish" >>"$outdir/bad"
		fi
		cat "$outdir/loop-$i" >>"$outdir/responses" 2>/dev/null || true
		cat "$outdir/loop-$i.bad" >>"$outdir/bad" 2>/dev/null || true
	done
	local workers backends secs
	workers=$(sed -n 's/^OK .* pid=\([0-9]*\).*/\1/p' "$outdir/responses" | sort -u | wc -l)
	backends=$(sed -n 's/^OK .* backend=\([0-9]*\).*/\1/p' "$outdir/responses" | sort -u | wc -l)
	secs=$(echo "$start $end" | awk '{printf "%.2f", $2 - $1}')
	echo "requests=$((ok + bad)) ok=$ok bad=$bad seconds=$secs rps=$(echo "$ok $secs" |
		awk '{printf "%.0f", ($2 > 0 ? $1 / $2 : 0)}') workers=$workers backends=$backends"
	[ "$bad" -eq 0 ] && [ "$((ok + bad))" -eq "$total" ]
}
