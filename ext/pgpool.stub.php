<?php

/**
 * Statistics of the broker's pools, read from shared memory. Null: every pool keyed by name;
 * a name: that pool. False (with a warning) when the broker cannot be reached.
 */
function pgpool_stats(?string $pool = null): array|false {}
