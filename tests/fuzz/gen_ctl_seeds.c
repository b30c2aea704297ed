/*
 * gen_ctl_seeds OUTDIR: write one valid control datagram of each type (built with the real
 * encoders of common/pgp_ctl.c) into OUTDIR, as seeds for fuzz_ctl. scripts/fuzz --seeds runs it
 * and the result is checked in under tests/fuzz/corpus/ctl/.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgp_ctl.h"

static const char *outdir;

static void put(const char *name, const void *buf, int len)
{
	char path[4096];
	FILE *f;

	if (len < 0) {
		fprintf(stderr, "gen_ctl_seeds: cannot encode %s\n", name);
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/%s", outdir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(buf, 1, (size_t)len, f) != (size_t)len || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

int main(int argc, char **argv)
{
	static uint8_t buf[PGP_CTL_MSG_MAX];
	pgp_ctl_attach_req req;
	struct pgp_ctl_attach_ok ok;
	struct pgp_ctl_slot_ref ref = {.pool = 1, .slot = 2, .gen = 77, .arg = 0};
	struct pgp_ctl_fd fd = {.pool = 0, .slot = 3, .gen = 9, .backend_pid = 4242};
	struct pgp_ctl_pong pong;
	struct pgp_ctl_grow grow = {.pool = 0};

	if (argc != 2) {
		fprintf(stderr, "usage: gen_ctl_seeds OUTDIR\n");
		return 2;
	}
	outdir = argv[1];

	memset(&req, 0, sizeof(req));
	req.client_version = PGP_CTL_VERSION;
	req.pid = 1234;
	req.pool = "main";
	req.user = "app";
	req.password = "secret";
	req.password_len = 6;
	put("attach_pool", buf, pgp_ctl_encode_attach(buf, 1, &req));
	req.pool = NULL;
	req.host = "127.0.0.1";
	req.port = "5432";
	req.dbname = "app";
	put("attach_dsn", buf, pgp_ctl_encode_attach(buf, 2, &req));
	req.password = NULL;
	req.password_len = 0;
	put("attach_nopw", buf, pgp_ctl_encode_attach(buf, 3, &req));

	put("fd_req", buf, pgp_ctl_encode(buf, PGP_CTL_FD_REQ, 4, &ref, sizeof(ref)));
	put("cancel", buf, pgp_ctl_encode(buf, PGP_CTL_CANCEL, 5, &ref, sizeof(ref)));
	ref.arg = 5; /* PGP_SLOT_DISCARD */
	put("returned", buf, pgp_ctl_encode(buf, PGP_CTL_RETURNED, 6, &ref, sizeof(ref)));
	put("ping", buf, pgp_ctl_encode(buf, PGP_CTL_PING, 7, NULL, 0));
	put("grow", buf, pgp_ctl_encode(buf, PGP_CTL_GROW, 8, &grow, sizeof(grow)));
	put("slow_query", buf,
	    pgp_ctl_encode_slow_query(buf, 9, 0, 1500, "select pg_sleep(1)", 18));

	memset(&ok, 0, sizeof(ok));
	ok.attach_id = 12;
	ok.epoch = 0x1234567890abcdefULL;
	snprintf(ok.shm_name, sizeof(ok.shm_name), "/pgpool");
	if (pgp_ctl_param_add(&ok, "client_encoding", "UTF8") < 0 ||
	    pgp_ctl_param_add(&ok, "server_version", "15.5") < 0 ||
	    pgp_ctl_param_add(&ok, "standard_conforming_strings", "on") < 0)
		return 1;
	put("attach_ok", buf, pgp_ctl_encode(buf, PGP_CTL_ATTACH_OK, 1, &ok, sizeof(ok)));
	put("fd", buf, pgp_ctl_encode(buf, PGP_CTL_FD, 4, &fd, sizeof(fd)));
	put("cancel_done", buf, pgp_ctl_encode(buf, PGP_CTL_CANCEL_DONE, 5, NULL, 0));
	memset(&pong, 0, sizeof(pong));
	pong.epoch = 99;
	pong.broker_pid = 1;
	snprintf(pong.shm_name, sizeof(pong.shm_name), "/pgpool");
	put("pong", buf, pgp_ctl_encode(buf, PGP_CTL_PONG, 7, &pong, sizeof(pong)));
	put("error", buf,
	    pgp_ctl_encode_error(buf, 1, "28P01", "password authentication failed for user \"%s\"",
	                         "app"));
	return 0;
}
