/*
 * plan.c: pg_migrate plan, the steps an upgrade, downgrade or stamp would
 * take and the lint findings of the SQL each would run (migrate.plan() of
 * 1.1), changing nothing but the registration of the directory's files.
 */
#include <stdlib.h>
#include <string.h>

#include "pg_migrate.h"

/* The columns read from plan(): its own, the findings one a line, and the step count. */
#define PLAN_SQL \
	"SELECT p.step, p.revision, p.operation, p.message, " \
	"array_to_string(p.findings, E'\\n'), count(*) OVER () " \
	"FROM migrate.plan($1, $2) p ORDER BY p.step"

#define PLAN_JSON_SQL \
	"SELECT coalesce(json_agg(p ORDER BY p.step), '[]') FROM migrate.plan($1, $2) p"

/*
 * The operation and target of the command line: upgrade [TARGET] (default
 * head), downgrade TARGET, stamp TARGET.
 */
static void
plan_args(const Options *opts, const char **op, const char **target)
{
	if (opts->nargs == 0)
		bad_usage("command \"plan\" needs an operation (upgrade, downgrade or stamp)%s", "");
	*op = opts->args[0];
	if (strcmp(*op, "upgrade") != 0 && strcmp(*op, "downgrade") != 0 &&
		strcmp(*op, "stamp") != 0)
		bad_usage("unknown operation \"%s\" of command \"plan\": upgrade, downgrade or stamp",
						 *op);
	if (opts->nargs > 2)
		bad_usage("too many arguments for command \"plan\" (first extra: \"%s\")",
						 opts->args[2]);
	if (opts->nargs == 1 && strcmp(*op, "upgrade") != 0)
		bad_usage("command \"plan %s\" needs a target revision", *op);
	*target = opts->nargs == 2 ? opts->args[1] : "head";
}

/*
 * Exits 1 unless the database has migrate 1.1 or later, whose plan() has
 * the findings.
 */
static void
check_plan_findings(PGconn *conn)
{
	PGresult   *res = run_query(conn, "SELECT e.extversion, EXISTS (SELECT 1 "
								"FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n "
								"ON n.oid = p.pronamespace WHERE n.nspname = 'migrate' "
								"AND p.proname = 'plan' "
								"AND 'findings' = ANY (p.proargnames)) "
								"FROM pg_catalog.pg_extension e WHERE e.extname = 'migrate'",
								0, NULL, NULL);

	if (PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 1), "t") == 0)
	{
		PQclear(res);
		return;
	}
	if (PQntuples(res) == 0)
	{
		pg_log_error("extension \"migrate\" is not installed in database \"%s\"", PQdb(conn));
		fprintf(stderr, "HINT:  Run CREATE EXTENSION migrate; in it as a superuser first.\n");
	}
	else
	{
		pg_log_error("extension \"migrate\" %s in database \"%s\" has no lint findings in its plan",
					 PQgetvalue(res, 0, 0), PQdb(conn));
		fprintf(stderr, "HINT:  Run ALTER EXTENSION migrate UPDATE; in it as a superuser first.\n");
	}
	PQclear(res);
	PQfinish(conn);
	exit(1);
}

/*
 * Prints the plan's rows: a line per step ("[1/2] upgrade 0004_idx, add an
 * index"), then its findings, indented, one a line.
 */
static void
print_plan(const PGresult *res)
{
	for (int i = 0; i < PQntuples(res); i++)
	{
		const char *findings = PQgetvalue(res, i, 4);

		printf("[%s/%s] %s %s", PQgetvalue(res, i, 0), PQgetvalue(res, i, 5),
			   PQgetvalue(res, i, 2), PQgetvalue(res, i, 1));
		if (PQgetvalue(res, i, 3)[0] != '\0')
			printf(", %s", PQgetvalue(res, i, 3));
		printf("\n");
		while (findings[0] != '\0')
		{
			size_t		len = strcspn(findings, "\n");

			printf("    %.*s\n", (int) len, findings);
			findings += len + (findings[len] == '\n');
		}
	}
	if (PQntuples(res) == 0)
		printf("nothing to do\n");
}

/*
 * plan upgrade [TARGET] | plan downgrade TARGET | plan stamp TARGET:
 * connects, registers the directory's files, prints migrate.plan().
 */
int
cmd_plan(const Options *opts)
{
	const char *params[2];
	PGconn	   *conn;
	PGresult   *res;

	plan_args(opts, &params[0], &params[1]);
	conn = connect_database(opts);
	install_progress(conn, false);
	check_plan_findings(conn);
	register_files(conn, opts->dir, opts->dir_given);
	res = run_query(conn, opts->json ? PLAN_JSON_SQL : PLAN_SQL, 2, params, NULL);
	if (opts->json)
		printf("%s\n", PQgetvalue(res, 0, 0));
	else
		print_plan(res);
	PQclear(res);
	PQfinish(conn);
	return 0;
}
