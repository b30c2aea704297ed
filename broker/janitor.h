/*
 * janitor.h: the broker's periodic work, every 100 ms: shm heartbeat, a sanity pass over every
 * slot word (repair forged words, reclaim leases whose owner is gone, take DISCARD/RESET slots,
 * re-arm idle watches), idle timeouts, lifetimes and health checks (lifecycle.c), the previous
 * broker's orphaned backends (orphan.c), keeping min_connections and serving waiters, closing
 * drained pools, and shutdown progress.
 */
#ifndef BROKER_JANITOR_H
#define BROKER_JANITOR_H

#define JANITOR_PERIOD_US 100000u

void janitor_start(void);
void janitor_stop(void);
/* One pass now (also used at shutdown to close what can be closed). */
void janitor_run(void);

#endif
