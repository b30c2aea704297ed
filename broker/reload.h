/*
 * reload.h: SIGHUP. The configuration file is read again; if it is valid:
 *  - pools still configured take their new settings (min/max within the slots reserved at start,
 *    mode and timeouts for new attachments, a changed dsn or password recycles connections);
 *  - new pools open (while pool entries and free slots remain) and prefill;
 *  - removed pools drain: new leases fail with 08004 saying so, leased connections finish and
 *    close, then the pool is CLOSED.
 * [broker] log_level, shutdown_timeout, max_backends and orphan_timeout apply at once; socket,
 * socket_mode, socket_group, shm_name and event_loop need a restart (a reload that changes them
 * says so and keeps the running values). An invalid file changes nothing (the error is logged).
 */
#ifndef BROKER_RELOAD_H
#define BROKER_RELOAD_H

/* Reload broker.cfg.path. 0, or -errno when the file was refused (the old settings stay). */
int reload_config(void);

#endif
