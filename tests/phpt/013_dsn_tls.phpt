--TEST--
A DSN that requires TLS (sslmode=require/verify-*, gssencmode=require) is refused with 08001, as pdo_pgsql refuses a server without TLS; other sslmodes pool as before
--SKIPIF--
<?php require __DIR__ . '/skipif_direct.inc'; ?>
--FILE--
<?php
require __DIR__ . '/driver.inc';

$active = pgpool_active();
foreach (['sslmode=require', 'sslmode=verify-ca', 'sslmode=verify-full', 'gssencmode=require'] as $opt) {
    /* the test server has no TLS: pdo_pgsql refuses as well, so an application asking for an
     * encrypted session never gets a plaintext one from either */
    try {
        new PDO(PGPOOL_TEST_DSN . ";$opt", PGPOOL_TEST_USER, PGPOOL_TEST_PASSWORD);
        echo "$opt: pdo_pgsql connected\n";
    } catch (PDOException $e) {
        echo "$opt: pdo_pgsql refused\n";
    }
    try {
        $db = pgpool_db([], PGPOOL_TEST_DSN . ";$opt");
        echo "$opt: PgPool connected\n";
    } catch (PDOException $e) {
        pgpool_show_error($e);
    }
}
/* the refusal leased nothing */
var_dump(pgpool_active() === $active);

/* sslmode values that accept a plaintext session work, as with pdo_pgsql */
foreach (['sslmode=disable', 'sslmode=allow', 'sslmode=prefer', 'gssencmode=prefer'] as $opt) {
    $db = pgpool_db([], PGPOOL_TEST_DSN . ";$opt");
    echo "$opt: ", $db->query("SELECT 'pooled'")->fetchColumn(), "\n";
}
?>
--EXPECTF--
sslmode=require: pdo_pgsql refused
PDOException '08001': SQLSTATE[08001] [7] the DSN asks for sslmode=require, but pooled connections are not encrypted (the broker connects to PostgreSQL over a Unix socket or loopback): remove it to use the pool, or use new PDO for an encrypted connection
errorInfo: ["08001",%s]
sslmode=verify-ca: pdo_pgsql refused
PDOException '08001': SQLSTATE[08001] [7] the DSN asks for sslmode=verify-ca, but %s
errorInfo: ["08001",%s]
sslmode=verify-full: pdo_pgsql refused
PDOException '08001': SQLSTATE[08001] [7] the DSN asks for sslmode=verify-full, but %s
errorInfo: ["08001",%s]
gssencmode=require: pdo_pgsql refused
PDOException '08001': SQLSTATE[08001] [7] the DSN asks for gssencmode=require, but %s
errorInfo: ["08001",%s]
bool(true)
sslmode=disable: pooled
sslmode=allow: pooled
sslmode=prefer: pooled
gssencmode=prefer: pooled
