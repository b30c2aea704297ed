/*
 * notify.h: the systemd notification protocol (sd_notify), spoken directly: one datagram to the
 * AF_UNIX socket named by $NOTIFY_SOCKET. Without that variable nothing is sent, so the broker
 * runs the same in the foreground without systemd.
 *
 * What the broker tells systemd (Type=notify): READY=1 once every pool is prefilled; STATUS= a
 * one-line summary kept current; RELOADING=1 with MONOTONIC_USEC= on SIGHUP and READY=1 when the
 * reload is done (systemd >= 253 waits for it); STOPPING=1 when a shutdown starts.
 */
#ifndef BROKER_NOTIFY_H
#define BROKER_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>

/* Send e.g. "READY=1\nSTATUS=..." (0, or -errno; no-op 0 without NOTIFY_SOCKET). */
int notify_send(const char *state);

/* "2 pool(s), 6 backend(s) (1 leased, 5 idle), 0 waiting, 12 worker(s)" (with "stopping: " in
 * front during a shutdown): systemd's STATUS= and `pgpool-cli status`. */
void notify_summary(char *out, size_t len);
/* Keep STATUS= current: looked at every 2 s, sent when it changed (nothing without systemd). */
void notify_status_start(void);
void notify_status_stop(void);

/* Around a reload: RELOADING=1 + MONOTONIC_USEC=now before, READY=1 + STATUS= after. */
void notify_reloading(void);
void notify_reloaded(void);

/* A graceful shutdown started by `pgpool-cli shutdown` does not send STOPPING=1 (systemd would
 * then stop the unit for good, and such a shutdown may still be cancelled); the process simply
 * exits when it is done. */
void notify_defer_stopping(void);
/* STOPPING=1 went out (a shutdown systemd knows about, which cannot be cancelled). */
bool notify_stopping_sent(void);
/* A deferred shutdown was cancelled: READY=1 and STATUS= again. */
void notify_resumed(void);

#endif
