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
	rm -f $(builddir)/pgpool-broker

.PHONY: install-pgpool-broker clean-pgpool-broker

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
