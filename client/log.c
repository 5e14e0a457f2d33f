/*
 * log.c: pg_migrate log, the audit history for people: one line per call
 * of migrate (the view migrate.log), newest first.
 */
#include <stdlib.h>
#include <string.h>

#include "pg_migrate.h"

/*
 * The calls, newest first, at most $1 of them ($1 NULL: all): the view's
 * rows with their position, as the view orders them (by first history row).
 */
#define LOG_ROWS_SQL \
	"SELECT * FROM (SELECT l.*, row_number() OVER () AS n FROM migrate.log l) s " \
	"ORDER BY s.n DESC LIMIT $1::bigint"

/* The columns printed: when, who, operation, revisions, duration, result. */
#define LOG_NCOLS 6

/*
 * log [-n N] [--json]: when, who, operation, revisions (the first three and
 * a count of the others), how long (first step's start to last step's end),
 * and ok or FAILED with the failed step's error.
 */
int
cmd_log(PGconn *conn, const Options *opts)
{
	const char *params[1] = {opts->max_count};
	PGresult   *res;
	int			width[LOG_NCOLS] = {0};

	res = run_query(conn, "SELECT to_regclass('migrate.log') IS NULL", 0, NULL, NULL);
	if (strcmp(PQgetvalue(res, 0, 0), "t") == 0)
	{
		pg_log_error("the view migrate.log does not exist: the extension in database \"%s\" is older than 1.1",
					 PQdb(conn));
		fprintf(stderr, "HINT:  Run ALTER EXTENSION migrate UPDATE; in it as a superuser.\n");
		PQclear(res);
		return 1;
	}
	PQclear(res);
	if (opts->json)
	{
		res = run_query(conn, "SELECT coalesce(json_agg(to_jsonb(s) - 'n' ORDER BY s.n DESC), '[]') "
						"FROM (" LOG_ROWS_SQL ") s", 1, params, NULL);
		printf("%s\n", PQgetvalue(res, 0, 0));
		PQclear(res);
		return 0;
	}
	res = run_query(conn, "SELECT to_char(s.started_at, 'YYYY-MM-DD HH24:MI:SS TZ'), s.who, "
					"s.operation, CASE WHEN cardinality(s.revisions) > 3 "
					"THEN array_to_string(s.revisions[1:3], ', ') || ' and ' "
					"|| cardinality(s.revisions) - 3 || ' more' "
					"ELSE array_to_string(s.revisions, ', ') END, "
					"to_char(extract(epoch FROM s.elapsed), 'FM999999990.000') || ' s', "
					"CASE WHEN s.success THEN 'ok' ELSE 'FAILED ' || coalesce(s.error, '') END "
					"FROM (" LOG_ROWS_SQL ") s ORDER BY s.n DESC", 1, params, NULL);
	for (int i = 0; i < PQntuples(res); i++)
		for (int j = 0; j < LOG_NCOLS - 1; j++)
			if (PQgetlength(res, i, j) > width[j])
				width[j] = PQgetlength(res, i, j);
	for (int i = 0; i < PQntuples(res); i++)
		printf("%-*s  %-*s  %-*s  %-*s  %*s  %s\n",
			   width[0], PQgetvalue(res, i, 0), width[1], PQgetvalue(res, i, 1),
			   width[2], PQgetvalue(res, i, 2), width[3], PQgetvalue(res, i, 3),
			   width[4], PQgetvalue(res, i, 4), PQgetvalue(res, i, 5));
	PQclear(res);
	return 0;
}
