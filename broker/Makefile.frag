# Makefile fragment appended by config.m4: builds and installs pgpool-broker (and pgpool-cli)
# next to the extension. Every broker/*.c plus common/*.c makes the broker; tools/ holds
# programs with a main() of their own.

PGPOOL_SRCDIR = $(srcdir)
PGPOOL_BROKER_SRCS = $(wildcard $(PGPOOL_SRCDIR)/broker/*.c) $(wildcard $(PGPOOL_SRCDIR)/common/*.c)
PGPOOL_HDRS = $(wildcard $(PGPOOL_SRCDIR)/broker/*.h) $(wildcard $(PGPOOL_SRCDIR)/common/*.h)

all: $(builddir)/pgpool-broker

$(builddir)/pgpool-broker: $(PGPOOL_BROKER_SRCS) $(PGPOOL_HDRS)
	$(CC) $(PGPOOL_BROKER_CFLAGS) -I$(PGPOOL_SRCDIR)/common -I$(PGPOOL_SRCDIR)/broker \
		-o $@ $(PGPOOL_BROKER_SRCS) $(PGPOOL_BROKER_LDFLAGS) $(PGPOOL_BROKER_LIBS)

install: install-pgpool-broker

install-pgpool-broker: $(builddir)/pgpool-broker
	$(mkinstalldirs) $(INSTALL_ROOT)$(prefix)/sbin
	$(INSTALL) -m 0755 $(builddir)/pgpool-broker $(INSTALL_ROOT)$(prefix)/sbin/pgpool-broker

clean: clean-pgpool-broker

clean-pgpool-broker:
	rm -f $(builddir)/pgpool-broker $(builddir)/pgpool-cli

.PHONY: install-pgpool-broker clean-pgpool-broker

# pgpool-cli, the admin client: cli/ plus the protocol header it shares with the broker.
all: $(builddir)/pgpool-cli

$(builddir)/pgpool-cli: $(PGPOOL_SRCDIR)/cli/pgpool-cli.c $(PGPOOL_SRCDIR)/broker/admin_proto.h $(PGPOOL_SRCDIR)/common/pgp_common.h
	$(CC) $(PGPOOL_BROKER_CFLAGS) -I$(PGPOOL_SRCDIR)/common -I$(PGPOOL_SRCDIR)/broker \
		-o $@ $(PGPOOL_SRCDIR)/cli/pgpool-cli.c $(PGPOOL_BROKER_LDFLAGS)

# Operating files (dist/): the systemd unit (its /usr/sbin paths rewritten to this prefix), the
# sysusers.d entry, man pages, and examples (broker configuration, PHP conf.d snippet, a copy of
# the unit and the Grafana dashboard) in $(prefix)/share/pgpool: `pecl install` keeps only what
# lands under PHP's prefix, so that is where a PECL user finds the unit. Every directory can be
# overridden: make install PGPOOL_SYSTEMD_UNITDIR=...
PGPOOL_SYSTEMD_UNITDIR = $(shell pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null || echo /lib/systemd/system)
PGPOOL_SYSUSERSDIR = $(shell pkg-config --variable=sysusersdir systemd 2>/dev/null || echo /usr/lib/sysusers.d)
PGPOOL_MANDIR = $(prefix)/share/man
PGPOOL_DATADIR = $(prefix)/share/pgpool

install: install-pgpool-cli install-pgpool-dist

install-pgpool-cli: $(builddir)/pgpool-cli
	$(mkinstalldirs) $(INSTALL_ROOT)$(prefix)/bin
	$(INSTALL) -m 0755 $(builddir)/pgpool-cli $(INSTALL_ROOT)$(prefix)/bin/pgpool-cli

install-pgpool-dist:
	$(mkinstalldirs) $(INSTALL_ROOT)$(PGPOOL_SYSTEMD_UNITDIR) $(INSTALL_ROOT)$(PGPOOL_SYSUSERSDIR) \
		$(INSTALL_ROOT)$(PGPOOL_MANDIR)/man1 $(INSTALL_ROOT)$(PGPOOL_MANDIR)/man5 \
		$(INSTALL_ROOT)$(PGPOOL_MANDIR)/man8 $(INSTALL_ROOT)$(PGPOOL_DATADIR)
	sed -e 's|/usr/sbin/pgpool-broker|$(prefix)/sbin/pgpool-broker|g' \
		$(PGPOOL_SRCDIR)/dist/pgpool-broker.service >$(INSTALL_ROOT)$(PGPOOL_SYSTEMD_UNITDIR)/pgpool-broker.service
	chmod 0644 $(INSTALL_ROOT)$(PGPOOL_SYSTEMD_UNITDIR)/pgpool-broker.service
	$(INSTALL) -m 0644 $(PGPOOL_SRCDIR)/dist/pgpool.sysusers $(INSTALL_ROOT)$(PGPOOL_SYSUSERSDIR)/pgpool.conf
	$(INSTALL) -m 0644 $(PGPOOL_SRCDIR)/dist/man/pgpool-cli.1 $(INSTALL_ROOT)$(PGPOOL_MANDIR)/man1/pgpool-cli.1
	$(INSTALL) -m 0644 $(PGPOOL_SRCDIR)/dist/man/pgpool.ini.5 $(INSTALL_ROOT)$(PGPOOL_MANDIR)/man5/pgpool.ini.5
	$(INSTALL) -m 0644 $(PGPOOL_SRCDIR)/dist/man/pgpool-broker.8 $(INSTALL_ROOT)$(PGPOOL_MANDIR)/man8/pgpool-broker.8
	$(INSTALL) -m 0644 $(PGPOOL_SRCDIR)/dist/pgpool-broker.ini $(PGPOOL_SRCDIR)/dist/pgpool.ini \
		$(INSTALL_ROOT)$(PGPOOL_SYSTEMD_UNITDIR)/pgpool-broker.service $(INSTALL_ROOT)$(PGPOOL_DATADIR)
	if test -f $(PGPOOL_SRCDIR)/docs/grafana-dashboard.json; then \
		$(INSTALL) -m 0644 $(PGPOOL_SRCDIR)/docs/grafana-dashboard.json $(INSTALL_ROOT)$(PGPOOL_DATADIR); fi

.PHONY: install-pgpool-cli install-pgpool-dist

# Test tools (not installed, not part of `all`): `make pgpool-test-tools` builds pgp-worker, the
# worker stand-in the broker integration tests drive (tests/tools/build.sh does the same without
# phpize).
PGPOOL_COMMON_SRCS = $(wildcard $(PGPOOL_SRCDIR)/common/*.c)

pgpool-test-tools: $(builddir)/pgp-worker

$(builddir)/pgp-worker: $(PGPOOL_SRCDIR)/tests/tools/pgp-worker.c $(PGPOOL_COMMON_SRCS) $(PGPOOL_HDRS)
	$(CC) $(PGPOOL_BROKER_CFLAGS) -I$(PGPOOL_SRCDIR)/common -o $@ \
		$(PGPOOL_SRCDIR)/tests/tools/pgp-worker.c $(PGPOOL_COMMON_SRCS) $(PGPOOL_BROKER_LDFLAGS) -lpthread

clean: clean-pgpool-test-tools

clean-pgpool-test-tools:
	rm -f $(builddir)/pgp-worker

.PHONY: pgpool-test-tools clean-pgpool-test-tools
