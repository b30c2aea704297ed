#!/usr/bin/env bash
# test: once
# laravel: Laravel's illuminate/database from Debian's packages (php-illuminate-database php8.2-mbstring) over PgPool, set up as
# docs/COMPATIBILITY.md (Frameworks) shows: migrations-style DDL, CRUD through the query builder, transactions,
# nested transactions with savepoints (tests/compat/frameworks/laravel.php). The same script runs
# through pdo_pgsql; both must pass their checks with the same results, and PgPool must hold no
# lease afterwards.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/testlib.sh
source "$here/../lib/testlib.sh"
# shellcheck source=../compat/frameworks/compare.sh
source "$here/../compat/frameworks/compare.sh"
fw_compare laravel php-illuminate-database php8.2-mbstring
