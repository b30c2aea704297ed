<?php
// Prints pgpool_stats() as JSON (read from the broker's shared memory, no broker round trip).
// Used by the demo and the tests through php-fpm or the CLI.
header('Content-Type: application/json');
echo json_encode(pgpool_stats(), JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES), "\n";
