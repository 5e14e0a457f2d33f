/*
 * commands.c: pg_migrate's database commands, each a call of migrate's SQL
 * API whose result is printed for people, or as JSON built by the server.
 */
#include <stdlib.h>
#include <string.h>

#include "pg_migrate.h"

/* Connection and options of the command running. */
typedef struct Command
{
	PGconn	   *conn;
	const Options *opts;
} Command;

/* The positional argument i, or def when absent. */
static const char *
arg_or(const Command *c, int i, const char *def)
{
	return i < c->opts->nargs ? c->opts->args[i] : def;
}

/* The required positional argument i; exits 1 with a hint when absent. */
static const char *
arg_required(const Command *c, int i, const char *name)
{
	if (i >= c->opts->nargs)
	{
		pg_log_error("command \"%s\" needs a %s", c->opts->command, name);
		fprintf(stderr, "Try \"%s --help\" for more information.\n", progname);
		PQfinish(c->conn);
		exit(1);
	}
	return c->opts->args[i];
}

/* Runs a query of one text parameter, $1 (param NULL: SQL's NULL). */
static PGresult *
query1(const Command *c, const char *sql, const char *param)
{
	const char *params[1] = {param};

	return run_query(c->conn, sql, 1, params, NULL);
}

/* Runs a query without parameters. */
static PGresult *
query0(const Command *c, const char *sql)
{
	return run_query(c->conn, sql, 0, NULL, NULL);
}

/* Prints the single value a JSON query returned, and a line end. */
static int
print_json(const Command *c, const char *sql, const char *param)
{
	PGresult   *res = strstr(sql, "$1") ? query1(c, sql, param) : query0(c, sql);

	printf("%s\n", PQgetvalue(res, 0, 0));
	PQclear(res);
	return 0;
}

/* A boolean column of a row. */
static bool
bool_value(const PGresult *res, int row, int col)
{
	return strcmp(PQgetvalue(res, row, col), "t") == 0;
}

/*
 * Runs upgrade or downgrade: the procedure (a transaction per revision), or
 * with --one-transaction the function; progress lines come from the NOTICEs.
 */
static int
run_steps(const Command *c, const char *target, const char *call_sql,
		  const char *function_sql)
{
	PQclear(query1(c, c->opts->one_transaction ? function_sql : call_sql, target));
	progress_finish();
	return 0;
}

/* upgrade [TARGET]: CALL migrate.deploy(), or upgrade(). */
static int
cmd_upgrade(const Command *c)
{
	return run_steps(c, arg_or(c, 0, "head"), "CALL migrate.deploy($1)",
					 "SELECT * FROM migrate.upgrade($1)");
}

/* downgrade TARGET: CALL migrate.revert(), or downgrade(). */
static int
cmd_downgrade(const Command *c)
{
	return run_steps(c, arg_required(c, 0, "target revision"), "CALL migrate.revert($1)",
					 "SELECT * FROM migrate.downgrade($1)");
}

/* stamp TARGET: migrate.stamp(), no SQL run. */
static int
cmd_stamp(const Command *c)
{
	PQclear(query1(c, "SELECT migrate.stamp($1)", arg_required(c, 0, "target revision")));
	return 0;
}

/*
 * The tags Alembic writes after a revision: its branch labels, then
 * (head), (current), (branchpoint), (mergepoint) as they apply.
 */
static void
print_tags(const char *labels, bool head, bool current, int nchildren, int nparents)
{
	if (labels != NULL && labels[0] != '\0')
		printf(" (%s)", labels);
	if (head)
		printf(" (head)");
	if (current)
		printf(" (current)");
	if (nchildren > 1)
		printf(" (branchpoint)");
	if (nparents > 1)
		printf(" (mergepoint)");
}

/*
 * The columns every listing reads from revisions(): 0 revision, 1 parents
 * (", "-joined, "<base>" for a root), 2 message, 3 branch labels, 4 depends
 * on, 5 is_applied, 6 is_head, 7 is_current, 8 children, 9 parent count.
 */
#define LISTING_SQL(where) \
	"WITH a AS (SELECT * FROM migrate.revisions()), " \
	"k AS (SELECT p AS revision, count(*) AS n FROM a, unnest(a.parents) p GROUP BY p) " \
	"SELECT r.revision, coalesce(nullif(array_to_string(r.parents, ', '), ''), '<base>'), " \
	"r.message, array_to_string(r.branch_labels, ', '), array_to_string(r.depends_on, ', '), " \
	"r.is_applied, r.is_head, r.is_current, coalesce(k.n, 0), cardinality(r.parents) " \
	"FROM migrate.revisions($1) WITH ORDINALITY r LEFT JOIN k USING (revision) " \
	where " ORDER BY r.ordinality"

/* One revision as "Rev:" lines, Alembic's verbose layout. */
static void
print_verbose(const PGresult *res, int i)
{
	printf("Rev: %s", PQgetvalue(res, i, 0));
	print_tags(PQgetvalue(res, i, 3), bool_value(res, i, 6), bool_value(res, i, 7),
			   atoi(PQgetvalue(res, i, 8)), atoi(PQgetvalue(res, i, 9)));
	printf("\nParent: %s\n", PQgetvalue(res, i, 1));
	if (PQgetvalue(res, i, 4)[0] != '\0')
		printf("Also depends on: %s\n", PQgetvalue(res, i, 4));
	if (PQgetvalue(res, i, 3)[0] != '\0')
		printf("Branch names: %s\n", PQgetvalue(res, i, 3));
	printf("Applied: %s\n", bool_value(res, i, 5) ? "yes" : "no");
	printf("\n    %s\n\n", PQgetvalue(res, i, 2));
}

/* Prints the rows of LISTING_SQL as history lines ("a -> b (head), msg"). */
static void
print_listing(const PGresult *res, bool verbose)
{
	for (int i = 0; i < PQntuples(res); i++)
	{
		if (verbose)
		{
			print_verbose(res, i);
			continue;
		}
		printf("%s -> %s", PQgetvalue(res, i, 1), PQgetvalue(res, i, 0));
		print_tags(PQgetvalue(res, i, 3), bool_value(res, i, 6), bool_value(res, i, 7),
				   atoi(PQgetvalue(res, i, 8)), atoi(PQgetvalue(res, i, 9)));
		printf(", %s\n", PQgetvalue(res, i, 2));
	}
}

/* history [-r A:B] [--verbose]: the graph, newest first. */
static int
cmd_history(const Command *c)
{
	PGresult   *res;

	if (c->opts->json)
		return print_json(c, "SELECT coalesce(json_agg(s.r ORDER BY s.n), '[]') "
						  "FROM (SELECT r, row_number() OVER () AS n "
						  "FROM migrate.revisions($1) r) s", c->opts->range);
	res = query1(c, LISTING_SQL(""), c->opts->range);
	print_listing(res, c->opts->verbose);
	PQclear(res);
	return 0;
}

/*
 * current and heads: the current heads or the graph heads, one a line with
 * their tags ("0002_email (head)"); column is is_current or is_head.
 */
static int
cmd_heads_or_current(const Command *c, bool current)
{
	PGresult   *res;

	if (c->opts->json)
		return print_json(c, current ?
						  "SELECT coalesce(json_agg(r), '[]') FROM migrate.revisions() r "
						  "WHERE r.is_current" :
						  "SELECT coalesce(json_agg(r), '[]') FROM migrate.revisions() r "
						  "WHERE r.is_head", NULL);
	res = query1(c, current ? LISTING_SQL("WHERE r.is_current") :
				 LISTING_SQL("WHERE r.is_head"), NULL);
	for (int i = 0; i < PQntuples(res); i++)
	{
		printf("%s", PQgetvalue(res, i, 0));
		print_tags(PQgetvalue(res, i, 3), bool_value(res, i, 6), false, 0, 0);
		printf("\n");
	}
	PQclear(res);
	return 0;
}

/* current: the current heads. */
static int
cmd_current(const Command *c)
{
	return cmd_heads_or_current(c, true);
}

/* heads: the graph heads. */
static int
cmd_heads(const Command *c)
{
	return cmd_heads_or_current(c, false);
}

/* Prints a section of a revision's SQL under its marker, if it has one. */
static void
print_section(const char *marker, const PGresult *res, int col)
{
	if (PQgetisnull(res, 0, col))
		return;
	printf("%s\n%s\n", marker, PQgetvalue(res, 0, col));
}

/* show REV: one revision, every column, and its SQL. */
static int
cmd_show(const Command *c)
{
	const char *rev = arg_required(c, 0, "revision");
	PGresult   *res;

	if (c->opts->json)
		return print_json(c, "SELECT row_to_json(s) FROM migrate.show($1) s", rev);
	res = query1(c, "SELECT s.id, coalesce(nullif(array_to_string(s.parents, ', '), ''), '<base>'), "
				 "array_to_string(s.depends_on, ', '), array_to_string(s.branch_labels, ', '), "
				 "s.message, s.up_sql, s.down_sql, s.checksum, "
				 "to_char(s.created_at, 'YYYY-MM-DD HH24:MI:SS TZ'), s.created_by, "
				 "coalesce(nullif(array_to_string(s.children, ', '), ''), '-'), "
				 "s.is_applied, s.transactional "
				 "FROM migrate.show($1) s", rev);
	printf("Rev: %s\nParent: %s\n", PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1));
	if (PQgetvalue(res, 0, 2)[0] != '\0')
		printf("Also depends on: %s\n", PQgetvalue(res, 0, 2));
	if (PQgetvalue(res, 0, 3)[0] != '\0')
		printf("Branch names: %s\n", PQgetvalue(res, 0, 3));
	printf("Children: %s\nApplied: %s\nTransactional: %s\nChecksum: %s\nCreated: %s by %s\n",
		   PQgetvalue(res, 0, 10), bool_value(res, 0, 11) ? "yes" : "no",
		   bool_value(res, 0, 12) ? "yes" : "no", PQgetvalue(res, 0, 7),
		   PQgetvalue(res, 0, 8), PQgetvalue(res, 0, 9));
	printf("\n    %s\n\n", PQgetvalue(res, 0, 4));
	print_section("-- migrate:up", res, 5);
	print_section("-- migrate:down", res, 6);
	PQclear(res);
	return 0;
}

/* check: migrate.check(), which raises 55000 unless the database is at head. */
static int
cmd_check(const Command *c)
{
	PQclear(query0(c, "SELECT migrate.check()"));
	printf("up to date\n");
	return 0;
}

/* verify: every integrity problem, one a line; exit status 1 if any. */
static int
cmd_verify(const Command *c)
{
	PGresult   *res = query0(c, "SELECT coalesce(json_agg(v), '[]'), count(*) "
							 "FROM migrate.verify() v");
	int			n = atoi(PQgetvalue(res, 0, 1));

	PQclear(res);
	if (c->opts->json)
		print_json(c, "SELECT coalesce(json_agg(v), '[]') FROM migrate.verify() v", NULL);
	else if (n == 0)
		printf("no problems found\n");
	else
	{
		res = query0(c, "SELECT problem, coalesce(revision, '-'), coalesce(detail, '') "
					 "FROM migrate.verify()");
		for (int i = 0; i < PQntuples(res); i++)
			printf("%s %s: %s\n", PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
				   PQgetvalue(res, i, 2));
		PQclear(res);
	}
	return n == 0 ? 0 : 1;
}

/* status: the one-row summary of migrate.status, a field a line. */
static int
cmd_status(const Command *c)
{
	static const char *const labels[] = {
		"current heads", "graph heads", "pending", "up to date", "lock holder",
		"last deploy", "pending non-transactional", "step holder"
	};
	PGresult   *res;

	if (c->opts->json)
		return print_json(c, "SELECT row_to_json(s) FROM migrate.status s", NULL);
	res = query0(c, "SELECT array_to_string(current_heads, ' '), array_to_string(heads, ' '), "
				 "pending, CASE WHEN up_to_date THEN 'yes' ELSE 'no' END, "
				 "coalesce(lock_holder_pid::text, '-'), "
				 "coalesce(to_char(last_deploy_at, 'YYYY-MM-DD HH24:MI:SS TZ') || ' by ' "
				 "|| last_deploy_by, '-'), array_to_string(pending_nontransactional, ' '), "
				 "coalesce(step_holder_pid::text, '-') FROM migrate.status");
	for (int i = 0; i < 8; i++)
	{
		char		label[64];

		snprintf(label, sizeof(label), "%s:", labels[i]);
		printf("%-27s %s\n", label, PQgetvalue(res, 0, i));
	}
	PQclear(res);
	return 0;
}

/*
 * sql upgrade [TARGET] | sql downgrade TARGET: the offline script; the
 * upgrade one is self-contained (register => true), for an empty database.
 */
static int
cmd_sql(const Command *c)
{
	const char *op = arg_required(c, 0, "operation (upgrade or downgrade)");
	PGresult   *res;
	const char *text;

	if (strcmp(op, "upgrade") == 0)
		res = query1(c, "SELECT migrate.upgrade_sql($1, register => true)", arg_or(c, 1, "head"));
	else if (strcmp(op, "downgrade") == 0)
		res = query1(c, "SELECT migrate.downgrade_sql($1)", arg_required(c, 1, "target revision"));
	else
	{
		pg_log_error("unknown operation \"%s\" of command \"sql\": upgrade or downgrade", op);
		return 1;
	}
	text = PQgetvalue(res, 0, 0);
	fputs(text, stdout);
	if (text[0] != '\0' && text[strlen(text) - 1] != '\n')
		putchar('\n');
	PQclear(res);
	return 0;
}

/* log: the calls of migrate, newest first (log.c). */
static int
cmd_log_of(const Command *c)
{
	return cmd_log(c->conn, c->opts);
}

/* graph: the revision graph drawn (graph.c). */
static int
cmd_graph_of(const Command *c)
{
	return cmd_graph(c->conn, c->opts);
}

/*
 * A database command: its name, its function, its argument counts and what
 * its first required argument is.
 */
typedef struct CommandDef
{
	const char *name;
	int			(*run) (const Command *c);
	int			minargs;
	int			maxargs;
	const char *argname;
} CommandDef;

static const CommandDef commands[] = {
	{"upgrade", cmd_upgrade, 0, 1, NULL},
	{"downgrade", cmd_downgrade, 1, 1, "target revision"},
	{"stamp", cmd_stamp, 1, 1, "target revision"},
	{"current", cmd_current, 0, 0, NULL},
	{"heads", cmd_heads, 0, 0, NULL},
	{"history", cmd_history, 0, 0, NULL},
	{"show", cmd_show, 1, 1, "revision"},
	{"check", cmd_check, 0, 0, NULL},
	{"verify", cmd_verify, 0, 0, NULL},
	{"status", cmd_status, 0, 0, NULL},
	{"log", cmd_log_of, 0, 0, NULL},
	{"graph", cmd_graph_of, 0, 0, NULL},
	{"sql", cmd_sql, 1, 2, "operation (upgrade or downgrade)"},
	{NULL, NULL, 0, 0, NULL}
};

/* The database command of that name, or NULL. */
static const CommandDef *
find_command(const char *name)
{
	for (const CommandDef *d = commands; d->name != NULL; d++)
		if (strcmp(d->name, name) == 0)
			return d;
	return NULL;
}

/* Whether the command works on a database (and so is known). */
bool
is_database_command(const char *command)
{
	return find_command(command) != NULL;
}

/* Refuses missing or extra positional arguments, with the usual hint. */
void
check_arg_count(const Options *opts)
{
	const CommandDef *d = find_command(opts->command);

	if (opts->nargs >= d->minargs && opts->nargs <= d->maxargs)
		return;
	if (opts->nargs < d->minargs)
		pg_log_error("command \"%s\" needs a %s", d->name, d->argname);
	else
		pg_log_error("too many arguments for command \"%s\" (first extra: \"%s\")",
				 d->name, opts->args[d->maxargs]);
	fprintf(stderr, "Try \"%s --help\" for more information.\n", progname);
	exit(1);
}

/* Exits 1 unless the database has the extension migrate. */
static void
check_extension(PGconn *conn)
{
	PGresult   *res = run_query(conn, "SELECT 1 FROM pg_catalog.pg_extension "
								"WHERE extname = 'migrate'", 0, NULL, NULL);

	if (PQntuples(res) == 1)
	{
		PQclear(res);
		return;
	}
	pg_log_error("extension \"migrate\" is not installed in database \"%s\"", PQdb(conn));
	fprintf(stderr, "HINT:  Run CREATE EXTENSION migrate; in it as a superuser first.\n");
	PQclear(res);
	PQfinish(conn);
	exit(1);
}

/*
 * Runs a database command: checks the extension, registers the directory's
 * files, then runs the command; returns the exit status.
 */
int
run_command(PGconn *conn, const Options *opts)
{
	const CommandDef *d = find_command(opts->command);
	Command		c = {conn, opts};

	check_extension(conn);
	register_files(conn, opts->dir, opts->dir_given);
	return d->run(&c);
}
