# migrate: PGXS build.  `make test` and `make demo` do the whole set-up on a
# fresh Debian 12 machine; see README.md.

EXTENSION   = migrate
MODULE_big  = migrate
OBJS        = $(patsubst %.c,%.o,$(sort $(wildcard src/*.c)))
PG_CPPFLAGS = -I$(srcdir)/src
# The server's headers as system headers: -Wextra then judges our code only
# (PostgreSQL's inline functions have unused parameters).
PG_CPPFLAGS += -isystem $(shell $(PG_CONFIG) --includedir-server)
PG_CFLAGS   = -Wall -Wextra -Werror
DATA        = $(wildcard sql/$(EXTENSION)--*.sql)
REGRESS     = $(sort $(filter-out $(EXTENSION)--%,$(patsubst sql/%.sql,%,$(wildcard sql/*.sql))))
REGRESS_OPTS = --inputdir=. --outputdir=. --load-extension=$(EXTENSION) --dbname=migrate_regress
ISOLATION      = $(sort $(patsubst test/specs/%.spec,%,$(wildcard test/specs/*.spec)))
ISOLATION_OPTS = --inputdir=test --load-extension=$(EXTENSION) --dbname=migrate_isolation
# `make installcheck` runs the TAP tests too, as contrib does
TAP_TESTS   = 1
PROVE_TESTS = test/t/*.pl

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# the schema model hashes each object with OpenSSL directly (src/digest.c)
ifeq ($(with_ssl),openssl)
SHLIB_LINK += -lcrypto
endif

# every source includes the shared header: a change to it rebuilds them all
$(OBJS): src/migrate.h src/compat.h

.PHONY: test demo demo-stop client client-install client-clean

# The client, pg_migrate (client/), a PGXS program of its own.
all: client
install: client-install
clean: client-clean

client:
	$(MAKE) -C client PG_CONFIG=$(PG_CONFIG)

client-install:
	$(MAKE) -C client PG_CONFIG=$(PG_CONFIG) install

client-clean:
	$(MAKE) -C client PG_CONFIG=$(PG_CONFIG) clean

# Installs what is missing, builds, runs every test layer on a throwaway
# server and ends with "N passed, N failed".
test:
	@bash test/run

# Leaves a throwaway server running at head with the example migrations.
demo:
	@bash examples/demo start

demo-stop:
	@bash examples/demo stop
