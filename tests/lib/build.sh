# shellcheck shell=bash
# tests/lib/build.sh: build pgpool (extension, broker, unit tests, test tools) in a directory of
# its own, so a developer's in-tree build is never touched. Source it, then:
#   build_stage SRC DEST        copy SRC's source files (git-tracked plus untracked files git does
#                               not ignore; everything but .git/.test-work outside a checkout) into
#                               DEST; unchanged files keep their timestamps, removed ones go away
#   build_ext DEST [CONFIGURE_ARGS...]
#                               phpize + ./configure --enable-pgpool ARGS (again only when config.m4,
#                               the file list or the arguments changed) + make -j2: DEST/modules/pgpool.so
#                               and DEST/pgpool-broker
#   build_tools DEST [CC_FLAGS...]
#                               tests/tools/*.c -> DEST/tests/tools/bin/NAME (or make -C tests/tools if
#                               it has a Makefile)
# Every step logs to DEST/.build-*.log and prints the log's tail on failure.

build_jobs() {
	local n
	n=$(nproc 2>/dev/null || echo 2)
	[ "$n" -gt 2 ] && n=2
	echo "$n"
}

# build_source_list SRC: NUL-separated relative paths of the source files of SRC.
build_source_list() {
	local src=$1 f
	if git -C "$src" -c safe.directory="$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		git -C "$src" -c safe.directory="$src" ls-files -z --cached --others --exclude-standard |
			while IFS= read -r -d '' f; do
				[ -f "$src/$f" ] && printf '%s\0' "$f"
			done
	else
		(cd "$src" && find . -path ./.git -prune -o -path ./.test-work -prune -o -type f -printf '%P\0')
	fi
}

build_stage() {
	local src=$1 dest=$2 old new
	mkdir -p "$dest"
	new=$(mktemp)
	build_source_list "$src" | sort -z >"$new"
	old=$dest/.staged-files
	if [ -f "$old" ]; then
		# Sources removed since the last staging must not linger in the copy.
		comm -z -23 "$old" "$new" | while IFS= read -r -d '' f; do rm -f "$dest/$f"; done
	fi
	rsync -a --checksum --from0 --files-from="$new" "$src/" "$dest/"
	mv "$new" "$old"
}

# build_run DEST LOGNAME CMD...: run CMD in DEST, quiet unless it fails.
build_run() {
	local dest=$1 log=$2
	shift 2
	if ! (cd "$dest" && "$@") >"$dest/.build-$log.log" 2>&1; then
		echo "build step failed: $* (in $dest); last lines of $dest/.build-$log.log:" >&2
		tail -n 40 "$dest/.build-$log.log" >&2
		return 1
	fi
}

build_ext() {
	local dest=$1 stamp
	shift
	# Reconfigure when anything configure depends on changed: config.m4, the list of C sources
	# (config.m4 globs ext/*.c and common/*.c), the Makefile fragment, the arguments.
	stamp=$(cd "$dest" && {
		cat config.m4 broker/Makefile.frag 2>/dev/null
		ls ext/*.c common/*.c 2>/dev/null
		echo "$*"
	} | md5sum | cut -d' ' -f1)
	if [ ! -f "$dest/Makefile" ] || [ "$(cat "$dest/.configure-stamp" 2>/dev/null)" != "$stamp" ]; then
		rm -f "$dest/.configure-stamp"
		[ -f "$dest/Makefile" ] && (cd "$dest" && make distclean >/dev/null 2>&1 || true)
		build_run "$dest" phpize phpize || return 1
		build_run "$dest" configure ./configure --enable-pgpool "$@" || return 1
		echo "$stamp" >"$dest/.configure-stamp"
	fi
	build_run "$dest" make make -j"$(build_jobs)" || return 1
	[ -f "$dest/modules/pgpool.so" ] || { echo "build: modules/pgpool.so was not produced" >&2; return 1; }
	[ -x "$dest/pgpool-broker" ] || { echo "build: pgpool-broker was not produced" >&2; return 1; }
}

build_tools() {
	local dest=$1 t name
	shift
	local tools=$dest/tests/tools
	[ -d "$tools" ] || return 0
	if [ -f "$tools/Makefile" ]; then
		build_run "$dest" tools make -C tests/tools || return 1
		return 0
	fi
	mkdir -p "$tools/bin"
	for t in "$tools"/*.c; do
		[ -f "$t" ] || continue
		name=$(basename "$t" .c)
		# A tool links the one copy of common/ (codec, shm, control messages).
		# shellcheck disable=SC2046
		build_run "$dest" "tool-$name" gcc -std=gnu11 -D_GNU_SOURCE -O1 -g -Wall -Wextra "$@" \
			-Icommon -Ibroker -o "tests/tools/bin/$name" "tests/tools/$name.c" common/*.c \
			$(pkg-config --cflags --libs libpq liburing) -lpthread || return 1
	done
}
