/*
 * main.h: process-level events the modules report to main.c (startup and shutdown order).
 */
#ifndef BROKER_MAIN_H
#define BROKER_MAIN_H

#include <stdbool.h>

/* A pool finished its prefill: tell systemd READY=1 once every pool has. */
void main_check_ready(void);
/* Start a graceful (fast = false) or fast shutdown; repeated calls can only make it faster. */
void main_stop(bool fast);
/* During shutdown: stop the loop once no backend is left. */
void main_check_stopped(void);

#endif
