/*
 * admin_int.h: what the admin socket (admin.c) shares with its commands: the read-only ones
 * (admin_show.c: status, pools, slots, workers) and the ones that act (admin_ctl.c).
 */
#ifndef BROKER_ADMIN_INT_H
#define BROKER_ADMIN_INT_H

#include <stdbool.h>

#include "admin_out.h"
#include "admin_proto.h"
#include "reqsrv.h"

struct pool;

/* One command being answered. */
struct admin_ctx {
	struct admin_out out;
	char err[512];        /* the message when a command fails */
	struct reqconn *conn; /* to schedule work after the answer is out (conn->after) */
};

/* A command: returns an ADMIN_EXIT_* status; on failure it fills x->err (admin_fail). */
typedef int (*admin_cmd_fn)(struct admin_ctx *x, int argc, char **argv);

int admin_fail(struct admin_ctx *x, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The pool named name, or NULL after admin_fail (listing the configured pools). */
struct pool *admin_pool_arg(struct admin_ctx *x, const char *name);

/* Record what an administrator wants for a pool (see admin_pool_status()). */
void admin_set_intent(const char *pool, uint32_t status);

/* admin_show.c */
int admin_cmd_status(struct admin_ctx *x, int argc, char **argv);
int admin_cmd_pools(struct admin_ctx *x, int argc, char **argv);
int admin_cmd_slots(struct admin_ctx *x, int argc, char **argv);
int admin_cmd_workers(struct admin_ctx *x, int argc, char **argv);
int admin_cmd_is_alive(struct admin_ctx *x, int argc, char **argv);

/* admin_ctl.c */
int admin_cmd_flush(struct admin_ctx *x, int argc, char **argv);
int admin_cmd_pause(struct admin_ctx *x, int argc, char **argv);
int admin_cmd_resume(struct admin_ctx *x, int argc, char **argv);
int admin_cmd_enable(struct admin_ctx *x, int argc, char **argv);
int admin_cmd_disable(struct admin_ctx *x, int argc, char **argv);
int admin_cmd_reconnect(struct admin_ctx *x, int argc, char **argv);
int admin_cmd_reload(struct admin_ctx *x, int argc, char **argv);
int admin_cmd_shutdown(struct admin_ctx *x, int argc, char **argv);
/* Pending recycles (flush gracefully, reconnect) of this pool's slots, for `pools`/`slots`. */
bool admin_recycle_pending(uint32_t global_slot, uint32_t gen);
/* Stop the recycle timer and forget pending recycles (exit). */
void admin_ctl_stop(void);

#endif
