#!/usr/bin/env bash
# test: once
# PECL and PIE: `pecl package` builds pgpool-X.Y.Z.tgz from package.xml; `composer validate`
# accepts composer.json (Debian's composer 2.5 predates the php-ext schema that PIE uses, so its
# publish check is reported, not failed: --no-check-publish); and, as root on a machine where
# pgpool is not installed yet, `pecl install` of that tgz builds and installs the extension, the
# broker, pgpool-cli, the man pages and the unit's copy, the extension loads, the programs run,
# and `pecl uninstall` removes it all again. (PECL gives every file it built mode 0644: the test
# makes the two programs executable, as README says to.) PGPOOL_TEST_PECL_INSTALL=0 skips the
# install (it builds everything once more, about a minute on 2 cores).
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/testlib.sh
source "$here/../lib/testlib.sh"

T=$PGPOOL_TEST_TMP
src=${PGPOOL_TEST_SRC:?the source checkout}
if ! command -v pecl >/dev/null; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q php-pear >"$T/apt.log" 2>&1 || t_fail "apt-get install php-pear"
	else
		echo "pecl is missing (php-pear)"
		exit 77
	fi
fi
version=$(sed -n 's:.*<release>\([0-9.]*\)</release>.*:\1:p' "$src/package.xml" | head -n1)
tgz=$T/pgpool-$version.tgz

# ---- pecl package ----
(cd "$T" && pecl package "$src/package.xml") >"$T/package.log" 2>&1 || { tail -n 20 "$T/package.log"; t_fail "pecl package failed"; }
[ -s "$tgz" ] || t_fail "pecl package did not write $tgz"
# PEAR warns when <date> is not today's: a release-day chore, not a fault of the package (a
# test must not start failing the day after the date was written). Every other warning fails.
grep -i 'warning' "$T/package.log" | grep -v 'Release Date "[0-9-]*" is not today' >"$T/warnings" || true
[ -s "$T/warnings" ] && { head -n 5 "$T/warnings"; t_fail "pecl package warned"; }
tar -tzf "$tgz" >"$T/tgz.list"
n=$(grep -c "^pgpool-$version/" "$T/tgz.list" || true)
listed=$(grep -c '<file ' "$src/package.xml")
[ "$n" = "$listed" ] || t_fail "the tgz holds $n files, package.xml lists $listed"
for f in config.m4 broker/admin.c cli/pgpool-cli.c dist/pgpool-broker.service dist/man/pgpool-cli.1; do
	grep -qx "pgpool-$version/$f" "$T/tgz.list" || t_fail "the tgz lacks $f"
done
t_say "ok: pecl package: $(basename "$tgz"), $n files"

# ---- composer validate ----
if ! command -v composer >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q composer >"$T/apt-composer.log" 2>&1 || true
fi
if command -v composer >/dev/null; then
	mkdir -p "$T/composer"
	cp "$src/composer.json" "$T/composer/"
	(cd "$T/composer" && COMPOSER_ALLOW_SUPERUSER=1 composer validate --no-interaction --no-check-publish) >"$T/composer.out" 2>&1 ||
		{ cat "$T/composer.out"; t_fail "composer validate failed"; }
	python3 - "$src/composer.json" "$src/config.m4" <<'PY' || t_fail "composer.json's PIE section"
import json, re, sys
c = json.load(open(sys.argv[1]))
m4 = open(sys.argv[2]).read()
assert c['type'] == 'php-ext', c['type']
pe = c['php-ext']
assert pe['extension-name'] == 'pgpool' and pe['os-families'] == ['linux'], pe
names = {o['name'] for o in pe['configure-options']}
# every option of config.m4 (PHP_ARG_ENABLE/WITH) is offered, under the name its help text shows
m4_names = set(re.findall(r'AS_HELP_STRING\(\[--([a-z0-9-]+)', m4))
assert names == m4_names, (names, m4_names)
print(f'php-ext: {pe["extension-name"]}, configure options {sorted(names)}')
PY
	t_say "ok: composer validate ($(composer --version 2>/dev/null | head -n1)); $(tail -n1 "$T/composer.out" | head -c 120)"
else
	t_say "skipped: composer is not installed"
fi

# ---- pecl install / uninstall ----
if [ "${PGPOOL_TEST_PECL_INSTALL:-1}" = 0 ] || [ "$(id -u)" != 0 ]; then
	t_say "skipped: pecl install (needs root; PGPOOL_TEST_PECL_INSTALL=${PGPOOL_TEST_PECL_INSTALL:-1})"
	exit 0
fi
exec 7>/tmp/pgpool-pecl-test.lock
flock -w 600 7 || t_fail "another pecl test holds /tmp/pgpool-pecl-test.lock"
extdir=$(php-config --extension-dir)
prefix=$(php-config --prefix)
if pecl list 2>/dev/null | grep -qi '^pgpool ' || [ -e "$prefix/sbin/pgpool-broker" ] || [ -e "$extdir/pgpool.so" ]; then
	t_say "skipped: pecl install (pgpool is installed on this machine already; not touching it)"
	exit 0
fi
installed=()
uninstall() {
	pecl uninstall pgpool >"$T/uninstall.log" 2>&1 || true
	rmdir "$prefix/share/pgpool" 2>/dev/null || true
}
trap 'uninstall; t_cleanup' EXIT
t_say "pecl install $(basename "$tgz") (builds once more)"
(cd "$T" && pecl install "$tgz" </dev/null) >"$T/install.log" 2>&1 || { tail -n 30 "$T/install.log"; t_fail "pecl install failed"; }
grep -q "install ok: channel://pecl.php.net/pgpool-$version" "$T/install.log" || t_fail "pecl did not say install ok"
mapfile -t installed < <(sed -n "s/^Installing '\(.*\)'$/\1/p" "$T/install.log")
for f in "$extdir/pgpool.so" "$prefix/sbin/pgpool-broker" "$prefix/bin/pgpool-cli" \
	"$prefix/share/man/man8/pgpool-broker.8" "$prefix/share/man/man1/pgpool-cli.1" \
	"$prefix/share/man/man5/pgpool.ini.5" "$prefix/share/pgpool/pgpool-broker.service"; do
	[ -f "$f" ] || t_fail "pecl install did not install $f"
done
t_say "pecl installed ${#installed[@]} built files: ${installed[*]}"
php -n -d extension=pdo -d extension=pgpool -r 'exit(extension_loaded("pgpool") && class_exists("PgPool") ? 0 : 1);' ||
	t_fail "the installed extension does not load"
mode=$(stat -c %a "$prefix/sbin/pgpool-broker")
chmod 0755 "$prefix/sbin/pgpool-broker" "$prefix/bin/pgpool-cli"
"$prefix/sbin/pgpool-broker" --version | grep -qx "pgpool-broker $version" || t_fail "the installed broker does not run"
"$prefix/bin/pgpool-cli" --version | grep -qx "pgpool-cli $version" || t_fail "the installed pgpool-cli does not run"
t_say "ok: the extension loads (php -d extension=pgpool), pgpool-broker and pgpool-cli $version run (PECL installed them with mode $mode)"
uninstall
trap t_cleanup EXIT
grep -q 'uninstall ok' "$T/uninstall.log" || t_fail "pecl uninstall: $(tail -n 3 "$T/uninstall.log")"
for f in "${installed[@]}"; do
	[ ! -e "$f" ] || t_fail "pecl uninstall left $f"
done
t_say "ok: pecl uninstall removed every file again"
