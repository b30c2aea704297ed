/*
 * loop.h: the broker's event loop, one small completion-style interface with two backends:
 * io_uring (liburing) and epoll. Every operation completes by calling its callback from
 * loop_run(), never from inside the call that started it.
 *
 * Requests are owned by the loop. A one-shot request's handle is valid until its callback has
 * returned; a multishot accept stays valid while results come with `more` set. loop_cancel()
 * guarantees the callback is never called again, and the caller may then free whatever ctx
 * points to at once: buffers that the kernel may still touch (received datagrams, data being
 * sent, a passed fd) belong to the request, not to the caller.
 *
 * Before closing an fd that had requests, cancel them and close it with loop_close_fd(), so an
 * io_uring submission still queued cannot land on a reused fd number.
 */
#ifndef BROKER_LOOP_H
#define BROKER_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "pgp_common.h"

struct loop;
struct loop_req;

struct loop_result {
	int res;             /* accept: new fd; recv/send: bytes; poll: revents; or -errno */
	bool more;           /* accept: the multishot request stays armed */
	const uint8_t *data; /* recv: the datagram, valid during the callback */
};

typedef void (*loop_cb)(void *ctx, struct loop_req *req, const struct loop_result *r);

struct loop_timer;
typedef void (*loop_timer_cb)(void *ctx, struct loop_timer *t);

/* A timer the caller embeds in its own struct (no allocation). */
struct loop_timer {
	uint64_t at_us; /* pgp_now_us() deadline */
	loop_timer_cb cb;
	void *ctx;
	struct loop_timer *next;
	bool armed;
};

/* Create a loop: CONFIG_LOOP_AUTO tries io_uring and falls back to epoll when the kernel or a
 * seccomp policy refuses it (the reason is logged). 0 or -errno. */
int loop_create(enum config_loop want, struct loop **out) PGP_WUR;
void loop_destroy(struct loop *l);
/* "io_uring" or "epoll". */
const char *loop_backend_name(const struct loop *l);

/* Multishot accept on a listening socket; new fds are SOCK_CLOEXEC (blocking: use the loop's
 * send/recv, which never block). NULL with errno set on failure. */
struct loop_req *loop_accept(struct loop *l, int fd, loop_cb cb, void *ctx);
/* Receive one datagram of at most max bytes (a longer one is reported as -EMSGSIZE). Any fds
 * passed along are closed. res 0 means the peer closed. */
struct loop_req *loop_recv(struct loop *l, int fd, size_t max, loop_cb cb, void *ctx);
/* Send one datagram (copied), with pass_fd in SCM_RIGHTS unless it is -1 (the fd is dup'd, so
 * the caller may close its own at any time). */
struct loop_req *loop_send(struct loop *l, int fd, const void *data, size_t len, int pass_fd,
                           loop_cb cb, void *ctx);
/* One-shot poll for events (POLLIN, POLLOUT); res is the revents. */
struct loop_req *loop_poll(struct loop *l, int fd, uint32_t events, loop_cb cb, void *ctx);
/* The callback of req is never called again; NULL is ignored. */
void loop_cancel(struct loop *l, struct loop_req *req);
/* Close an fd whose requests were all cancelled. */
void loop_close_fd(struct loop *l, int fd);
/* The same for an fd that someone else closes right after (PQfinish closes libpq's socket). */
void loop_release_fd(struct loop *l, int fd);

/* Timers: start (re-arms if armed), stop (no-op if not armed). */
void loop_timer_start(struct loop *l, struct loop_timer *t, uint64_t delay_us, loop_timer_cb cb,
                      void *ctx);
void loop_timer_stop(struct loop *l, struct loop_timer *t);

/* Run until loop_stop(). 0 or -errno on a fatal loop error. */
int loop_run(struct loop *l) PGP_WUR;
void loop_stop(struct loop *l);

#endif
