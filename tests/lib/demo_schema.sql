-- Table used by tests/lib/php/demo_page.php (the demo and the php-fpm test). Run as `app`.
SET client_min_messages = warning;
DROP TABLE IF EXISTS pgpool_demo;
CREATE TABLE pgpool_demo (
	id int PRIMARY KEY,
	balance bigint NOT NULL DEFAULT 0,
	last_tag text
);
INSERT INTO pgpool_demo (id) SELECT g FROM generate_series(1, 1000) AS g;
