/*
 * pg_migrate.h: what the files of the pg_migrate client share.
 *
 * pg_migrate is a thin layer on migrate's SQL API: it registers a directory
 * of migration files and calls the API's functions, printing their results
 * for people (or as JSON).  Exit status as pg_dump's: 0 ok, 1 error.
 */
#ifndef PG_MIGRATE_H
#define PG_MIGRATE_H

#include <stdbool.h>
#include <stdio.h>

#include "libpq-fe.h"

#ifndef MIGRATE_VERSION
#define MIGRATE_VERSION "unknown"
#endif

/* What the command line said. */
typedef struct Options
{
	const char *dbname;			/* -d: a name or a connection string */
	const char *host;
	const char *port;
	const char *user;
	int			prompt_password;	/* -1: when the server asks, 0 never (-w), 1 first (-W) */
	const char *dir;			/* -D, default "migrations" */
	bool		dir_given;		/* -D was given: the directory must exist */
	bool		json;
	bool		verbose;
	bool		one_transaction;
	int			progress;		/* -1: if stdout is a terminal, 0 no, 1 yes */
	const char *range;			/* history -r */
	const char *max_count;		/* log -n, NULL: every call */
	const char *format;			/* graph --format: text, dot or mermaid */
	const char *branch_label;	/* new */
	const char *head;			/* new --head */
	const char **depends_on;	/* new --depends-on, repeatable */
	int			ndepends_on;
	const char *message;		/* new: the positional message; merge: -m */
	const char *from;			/* import --from TOOL */
	const char **dbnames;		/* every -d: several make a fleet */
	int			ndbnames;
	const char *targets;		/* --targets FILE: a fleet */
	int			jobs;			/* --jobs N, 0 if not given */
	bool		continue_on_error;	/* a fleet goes on after a failure */
	const char *command;
	const char **args;			/* the command's positional arguments */
	int			nargs;
} Options;

extern const char *progname;

/* What new and the registration read of one file's headers. */
typedef struct FileRev
{
	char	   *path;
	char	   *id;				/* NULL: the file has no revision header */
	char	   *parents;		/* NULL: no parents header */
	char	   *depends_on;		/* "" when none */
	char	   *labels;			/* "" when none */
	bool		has_child;
} FileRev;
/* pg_migrate.c */
extern void bad_usage(const char *fmt, const char *arg);

/* connect.c */
extern void pg_fatal(const char *fmt,...) __attribute__((format(printf, 1, 2), noreturn));
extern void pg_log_error(const char *fmt,...) __attribute__((format(printf, 1, 2)));
/* libpgcommon's (fe_memutils.c): they exit on out of memory */
extern void *pg_malloc(size_t size);
extern char *pg_strdup(const char *in);
extern PGconn *connect_database(const Options *opts);
extern void print_result_error(const PGresult *res);
extern PGresult *run_query(PGconn *conn, const char *sql, int nparams,
						   const char *const *params, const char *what);
extern void register_files(PGconn *conn, const char *dir, bool must_exist);
extern char **list_sql_files(const char *dir, int *nfiles);
extern char *read_file(const char *path, size_t *len);
extern void install_progress(PGconn *conn, bool on);
extern void progress_finish(void);

/* commands.c */
extern int	run_command(PGconn *conn, const Options *opts);
extern bool is_database_command(const char *command);
extern void check_arg_count(const Options *opts);

/* graph.c */
extern int	cmd_graph(PGconn *conn, const Options *opts);

/* order.c */
extern FileRev *read_revs(const char *dir, int *n);
extern int	find_rev(FileRev *revs, int n, const char *name);
extern char **ordered_files(PGconn *conn, const char *dir, int *n);

/* password.c */
extern char *read_password(void);

/* log.c */
extern int	cmd_log(PGconn *conn, const Options *opts);

/* newfile.c */
extern int	cmd_new(const Options *opts);
extern int	cmd_merge(const Options *opts);

/* fleet.c */
extern bool fleet_wanted(const Options *opts);
extern int	run_fleet(const Options *opts);

/* import.c */
extern int	cmd_import(const Options *opts);
/* plan.c */
extern int	cmd_plan(const Options *opts);

#endif							/* PG_MIGRATE_H */
