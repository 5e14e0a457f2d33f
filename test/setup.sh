# shellcheck shell=bash
# Shared set-up for test/run and examples/demo; source it, don't run it.
#
# It installs what a fresh Debian 12 machine lacks, builds and installs the
# extension, and manages throwaway PostgreSQL 15 clusters.  Everything runs
# as root or as a normal user with sudo: the privileged steps go through
# mig_priv, and the server (initdb and postgres refuse root) runs as the
# postgres OS user through mig_as_postgres.

# Debian's binaries, named explicitly: /usr/bin/psql and friends are
# pg_wrapper scripts that pick a cluster, which we don't want.
PG_BIN=/usr/lib/postgresql/15/bin
PG_CONFIG=$PG_BIN/pg_config
PGXS_TEST=/usr/lib/postgresql/15/lib/pgxs/src/test
# shellcheck disable=SC2034  # used by the scripts that source this file
PG_REGRESS=$PGXS_TEST/regress/pg_regress
# shellcheck disable=SC2034
PG_ISOLATION_REGRESS=$PGXS_TEST/isolation/pg_isolation_regress
# shellcheck disable=SC2034
PG_PERL_LIB=$PGXS_TEST/perl

MIGRATE_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MIGRATE_DEPS=(postgresql-15 postgresql-server-dev-15 libssl-dev libipc-run-perl make gcc python3-alembic)

# Runs a command with root privileges.
mig_priv() {
	if [[ $EUID -eq 0 ]]; then
		"$@"
	else
		sudo -- "$@"
	fi
}

# Runs a command as the postgres OS user, from / since the caller's working
# directory (a clone in a private home) may be closed to postgres; callers use
# absolute paths.  sudo resets the environment, so callers pass variables
# with `env VAR=value cmd`.
mig_as_postgres() {
	(
		cd / || exit
		if [[ $(id -un) == postgres ]]; then
			"$@"
		elif [[ $EUID -eq 0 ]]; then
			runuser -u postgres -- "$@"
		else
			sudo -u postgres -- "$@"
		fi
	)
}

# Installs the Debian packages that are missing.  Skips apt entirely when all
# are there, so that repeated runs cost nothing.
mig_install_deps() {
	local pkg missing=()
	for pkg in "${MIGRATE_DEPS[@]}"; do
		if [[ $(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null) != "install ok installed" ]]; then
			missing+=("$pkg")
		fi
	done
	((${#missing[@]} == 0)) && return 0
	if [[ $EUID -ne 0 ]] && ! command -v sudo >/dev/null; then
		echo "setup: missing ${missing[*]}, and neither root nor sudo to install them" >&2
		return 1
	fi
	echo "setup: installing ${missing[*]}"
	# Quiet unless it fails.  Installing postgresql-15 also creates Debian's
	# own "main" cluster; it is left alone (our servers use other ports and
	# sockets).
	local log
	log=$(mig_priv env DEBIAN_FRONTEND=noninteractive apt-get update -q 2>&1 &&
		mig_priv env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
			-o Dpkg::Use-Pty=0 "${MIGRATE_DEPS[@]}" 2>&1) || {
		echo "$log" >&2
		return 1
	}
}

# Builds the extension (the Makefile adds -Wall -Wextra -Werror) and installs
# it into PostgreSQL 15's directories.
mig_build_install() {
	make -s --no-print-directory -C "$MIGRATE_ROOT" -j"$(nproc)" PG_CONFIG="$PG_CONFIG" &&
		mig_priv make -s --no-print-directory -C "$MIGRATE_ROOT" PG_CONFIG="$PG_CONFIG" install
}

# Prints the first TCP port from $1 on that nothing on 127.0.0.1 accepts.
mig_free_port() {
	local port=$1
	# A successful connect means the port is taken.
	while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
		port=$((port + 1))
	done
	echo "$port"
}

# mig_cluster_create DIR: initdb a throwaway cluster in DIR (created if
# missing; it must be reachable by the postgres user, so under /tmp rather
# than a $TMPDIR that may sit in a private home).  Sets MIG_PGDIR and
# MIG_PGDATA.  DIR holds the data directory, the Unix socket and server.log.
mig_cluster_create() {
	MIG_PGDIR=$1
	mig_priv mkdir -p "$MIG_PGDIR" || return 1
	MIG_PGDATA=$MIG_PGDIR/data
	# 0755 so that a non-root client can reach the socket; initdb keeps the
	# data directory itself at 0700.
	mig_priv chown postgres:postgres "$MIG_PGDIR" &&
		mig_priv chmod 0755 "$MIG_PGDIR" || return 1
	local out
	out=$(mig_as_postgres "$PG_BIN/initdb" -D "$MIG_PGDATA" -U postgres -A trust \
		--no-sync --no-locale -E UTF8 2>&1) || {
		echo "$out" >&2
		return 1
	}
	# Speed over durability: the cluster is thrown away.
	mig_as_postgres tee -a "$MIG_PGDATA/postgresql.conf" >/dev/null <<-EOF

		# throwaway test cluster (test/setup.sh)
		listen_addresses = '127.0.0.1'
		unix_socket_directories = '$MIG_PGDIR'
		max_connections = 100
		fsync = off
		synchronous_commit = off
		full_page_writes = off
		lc_messages = 'C'
		log_line_prefix = '%m [%p] %q%a '
		# drift (README, "Drift") is tested by the tests that turn it on
		# (sql/drift.sql, test/t/090_drift.pl); the others make schema
		# changes outside migrate all the time and check() after them
		migrate.track_drift = off
	EOF
}

# mig_cluster_start FIRST_PORT: starts the cluster of MIG_PGDIR on the first
# free port from FIRST_PORT on, and exports PGHOST, PGPORT and PGUSER for the
# clients.
mig_cluster_start() {
	local port=$1
	for _ in 1 2 3 4 5; do
		port=$(mig_free_port "$port")
		# The last setting in postgresql.conf wins, so a retry just appends.
		echo "port = $port" | mig_as_postgres tee -a "$MIG_PGDATA/postgresql.conf" >/dev/null
		if mig_as_postgres "$PG_BIN/pg_ctl" -D "$MIG_PGDATA" -l "$MIG_PGDIR/server.log" \
			-w -t 60 -s start; then
			export PGHOST=$MIG_PGDIR PGPORT=$port PGUSER=postgres
			return 0
		fi
		# Another process may have taken the port between probe and bind.
		mig_priv grep -q "could not bind\|could not create any TCP/IP sockets" "$MIG_PGDIR/server.log" 2>/dev/null ||
			break
		port=$((port + 1))
	done
	echo "setup: the server in $MIG_PGDIR did not start; log follows" >&2
	mig_priv tail -n 30 "$MIG_PGDIR/server.log" >&2
	return 1
}

# mig_cluster_stop DIR: stops the server of DIR, if one runs there.  Fast
# shutdown, then immediate if that hangs.
mig_cluster_stop() {
	local dir=$1
	local data=$dir/data
	# Tested as postgres: the data directory is closed to other users.
	[[ -n $dir ]] && mig_as_postgres test -f "$data/postmaster.pid" || return 0
	mig_as_postgres "$PG_BIN/pg_ctl" -D "$data" -s -w -t 30 -m fast stop >/dev/null 2>&1 ||
		mig_as_postgres "$PG_BIN/pg_ctl" -D "$data" -s -w -m immediate stop >/dev/null 2>&1
	return 0
}

# mig_cluster_destroy DIR: stops the server of DIR and removes DIR.
mig_cluster_destroy() {
	local dir=$1
	[[ -n $dir && -d $dir ]] || return 0
	mig_cluster_stop "$dir"
	mig_priv rm -rf -- "$dir"
}

# Client programs of PostgreSQL 15, without reading ~/.psqlrc.
mig_psql() {
	"$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"
}
