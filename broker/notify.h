/*
 * notify.h: the systemd notification protocol (sd_notify), spoken directly: one datagram to the
 * AF_UNIX socket named by $NOTIFY_SOCKET. Without that variable nothing is sent, so the broker
 * runs the same in the foreground without systemd.
 */
#ifndef BROKER_NOTIFY_H
#define BROKER_NOTIFY_H

/* Send e.g. "READY=1\nSTATUS=..." (0, or -errno; no-op 0 without NOTIFY_SOCKET). */
int notify_send(const char *state);

#endif
