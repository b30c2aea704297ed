# shellcheck shell=bash
# tests/lib/deps.sh: install the Debian packages pgpool's scripts need. Source it, then:
#   deps_install [EXTRA_PKG...]   install what is missing of the base set plus EXTRA_PKG
#                                 (apt-get update once, only when something is missing)
# The base set builds the extension and the broker and runs the tests and the demo:
# compilers, PHP 8.2 (cli, dev, fpm, pgsql for pdo_pgsql comparisons), libpq, liburing,
# PostgreSQL, cgi-fcgi (FastCGI client), rsync (build staging), php-xml (package.xml checks).

PGPOOL_DEPS_BASE=(build-essential pkg-config autoconf php8.2-cli php8.2-dev php8.2-fpm php8.2-pgsql php8.2-xml
	libpq-dev liburing-dev postgresql-15 postgresql-client-15 libfcgi-bin rsync procps)

# deps_missing PKG...: print the packages that are not installed.
deps_missing() {
	local p status
	for p in "$@"; do
		status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
		[ "$status" = "install ok installed" ] || echo "$p"
	done
}

deps_install() {
	local missing
	mapfile -t missing < <(deps_missing "${PGPOOL_DEPS_BASE[@]}" "$@")
	[ "${#missing[@]}" -eq 0 ] && return 0
	if [ "$(id -u)" != 0 ]; then
		echo "missing packages: ${missing[*]}; run as root or: apt-get install ${missing[*]}" >&2
		return 1
	fi
	echo "installing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null
	# Installing postgresql creates and starts a `main` cluster on 5432; the tests never use
	# it (they start their own servers), so its port does not matter.
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null </dev/null || {
		echo "apt-get install failed for: ${missing[*]}" >&2
		return 1
	}
}
