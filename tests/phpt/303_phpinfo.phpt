--TEST--
phpinfo(): the pgpool section shows the version, socket, broker, shm epoch, attached pools and cached fds
--SKIPIF--
<?php require __DIR__ . '/skipif.inc'; ?>
--FILE--
<?php
require __DIR__ . '/config.inc';
require __DIR__ . '/phpinfo_section.inc';

/* Before this process used a pool: the broker is probed (PING), nothing attached or cached. */
echo implode("\n", pgpool_phpinfo_section()), "\n--\n";

$db = new PgPool(PGPOOL_TEST_DSN, PGPOOL_TEST_USER, PGPOOL_TEST_PASSWORD);
var_dump((int) $db->query('SELECT 1')->fetchColumn());
$info = pgpool_phpinfo_section();
echo implode("\n", array_slice($info, 3, 4)), "\n";

/* No secret in the section. */
var_dump(strpos(implode("\n", $info), PGPOOL_TEST_PASSWORD));
?>
--EXPECTF--
pgpool support => enabled
Version => %d.%d.%d
Broker socket => %s.sock
Broker reachable => yes (pgpool-broker pid %d)
Shared memory epoch => %x (/%s)
Attached pools => 0
Cached backend fds => 0
Directive => Local Value => Master Value
pgpool.broker_timeout => 5000 => 5000
pgpool.max_message_size => 1G => 1G
pgpool.socket => %s.sock => %s.sock
--
int(1)
Broker reachable => yes (pgpool-broker pid %d)
Shared memory epoch => %x (/%s)
Attached pools => 1 (main)
Cached backend fds => 1
bool(false)
