/*
 * connect.c: errors, the connection, queries and the registration of a
 * directory of migration files, for pg_migrate.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>

#include "pg_migrate.h"

static void vlog_error(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/* Prints "pg_migrate: error: ..." on stderr. */
static void
vlog_error(const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: error: ", progname);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

/* Reports an error and goes on. */
void
pg_log_error(const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vlog_error(fmt, ap);
	va_end(ap);
}

/* Reports an error and exits with status 1, as pg_dump does. */
void
pg_fatal(const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vlog_error(fmt, ap);
	va_end(ap);
	exit(1);
}

/*
 * Connects as PostgreSQL's clients do: -d may be a connection string or URI
 * (expand_dbname), the PG* variables fill in the rest.  The password is
 * asked for first with -W, or when the server wants one and -w is absent
 * (connectDatabase() of src/fe_utils/connect_utils.c).
 */
PGconn *
connect_database(const Options *opts)
{
	const char *keywords[7];
	const char *values[7];
	char	   *password = NULL;
	PGconn	   *conn;

	keywords[0] = "host", values[0] = opts->host;
	keywords[1] = "port", values[1] = opts->port;
	keywords[2] = "user", values[2] = opts->user;
	keywords[3] = "password", values[3] = NULL;
	keywords[4] = "dbname", values[4] = opts->dbname;
	keywords[5] = "fallback_application_name", values[5] = progname;
	keywords[6] = NULL, values[6] = NULL;
	if (opts->prompt_password == 1)
		password = read_password();
	for (;;)
	{
		values[3] = password;
		conn = PQconnectdbParams(keywords, values, 1);
		if (conn == NULL)
			pg_fatal("out of memory");
		if (PQstatus(conn) != CONNECTION_BAD || !PQconnectionNeedsPassword(conn) ||
			password != NULL || opts->prompt_password == 0)
			break;
		PQfinish(conn);
		password = read_password();
	}
	free(password);
	if (PQstatus(conn) != CONNECTION_OK)
	{
		/* libpq's message ends with a line end */
		fprintf(stderr, "%s: error: %s", progname, PQerrorMessage(conn));
		PQfinish(conn);
		exit(1);
	}
	return conn;
}

/* Prints one field of an error or notice, if the server sent it. */
static void
print_field(FILE *out, const PGresult *res, int field, const char *label)
{
	const char *value = PQresultErrorField(res, field);

	if (value != NULL && value[0] != '\0')
		fprintf(out, "%s:  %s\n", label, value);
}

/* Prints a server message as psql's verbose mode does, with its SQLSTATE. */
static void
print_server_message(FILE *out, const PGresult *res)
{
	const char *severity = PQresultErrorField(res, PG_DIAG_SEVERITY);
	const char *sqlstate = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	const char *message = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

	if (message == NULL)
	{
		/* not from the server: a lost connection, say */
		fputs(PQresultErrorMessage(res), out);
		return;
	}
	fprintf(out, "%s:  ", severity ? severity : "ERROR");
	if (sqlstate != NULL && strcmp(sqlstate, "00000") != 0)
		fprintf(out, "%s: ", sqlstate);
	fprintf(out, "%s\n", message);
	print_field(out, res, PG_DIAG_MESSAGE_DETAIL, "DETAIL");
	print_field(out, res, PG_DIAG_MESSAGE_HINT, "HINT");
	print_field(out, res, PG_DIAG_CONTEXT, "CONTEXT");
}

/* Prints the server's error of a failed query on stderr. */
void
print_result_error(const PGresult *res)
{
	print_server_message(stderr, res);
}

/*
 * Runs a query with text parameters (never interpolated); on an error prints
 * "what" and the server's message, and exits 1.
 */
PGresult *
run_query(PGconn *conn, const char *sql, int nparams,
		  const char *const *params, const char *what)
{
	PGresult   *res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(res);

	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return res;
	progress_finish();
	if (what != NULL)
		pg_log_error("%s", what);
	print_result_error(res);
	PQclear(res);
	PQfinish(conn);
	exit(1);
}

/* Orders file names by their bytes, as the server's add_dir() does. */
static int
compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/* The regular *.sql files of dir, their paths sorted by name. */
char **
list_sql_files(const char *dir, int *nfiles)
{
	DIR		   *d = opendir(dir);
	struct dirent *de;
	char	  **files = NULL;
	int			n = 0,
				cap = 0;

	if (d == NULL)
		pg_fatal("could not open directory \"%s\": %s", dir, strerror(errno));
	while ((de = readdir(d)) != NULL)
	{
		size_t		len = strlen(de->d_name);
		struct stat st;
		char	   *path;

		if (len < 5 || strcmp(de->d_name + len - 4, ".sql") != 0)
			continue;
		path = pg_malloc(strlen(dir) + len + 2);
		sprintf(path, "%s/%s", dir, de->d_name);
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
		{
			free(path);
			continue;
		}
		if (n == cap)
		{
			cap = cap ? cap * 2 : 16;
			files = realloc(files, cap * sizeof(char *));
			if (files == NULL)
				pg_fatal("out of memory");
		}
		files[n++] = path;
	}
	closedir(d);
	if (n > 0)
		qsort(files, n, sizeof(char *), compare_names);
	*nfiles = n;
	return files;
}

/* A whole file, NUL-terminated; len gets its size. */
char *
read_file(const char *path, size_t *len)
{
	FILE	   *f = fopen(path, "rb");
	char	   *buf;
	long		size;

	if (f == NULL)
		pg_fatal("could not open file \"%s\": %s", path, strerror(errno));
	if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
		pg_fatal("could not read file \"%s\": %s", path, strerror(errno));
	buf = pg_malloc(size + 1);
	if (fread(buf, 1, size, f) != (size_t) size)
		pg_fatal("could not read file \"%s\"", path);
	buf[size] = '\0';
	fclose(f);
	if (len != NULL)
		*len = size;
	return buf;
}

/*
 * Registers every migration file of dir in one transaction through
 * migrate.add_script(), the content sent as a parameter, parents first
 * (ordered_files()): unchanged files are no-ops, and the first failure
 * names its file and rolls everything back.  A missing default directory
 * (no -D) registers nothing.
 */
void
register_files(PGconn *conn, const char *dir, bool must_exist)
{
	int			nfiles;
	char	  **files;
	struct stat st;

	if (!must_exist && stat(dir, &st) != 0 && errno == ENOENT)
		return;
	files = ordered_files(conn, dir, &nfiles);

	if (nfiles == 0)
		return;
	PQclear(run_query(conn, "BEGIN", 0, NULL, NULL));
	for (int i = 0; i < nfiles; i++)
	{
		char	   *script = read_file(files[i], NULL);
		char		what[4096];
		const char *params[1] = {script};

		snprintf(what, sizeof(what), "could not register file \"%s\"", files[i]);
		PQclear(run_query(conn, "SELECT migrate.add_script($1)", 1, params, what));
		free(script);
		free(files[i]);
	}
	PQclear(run_query(conn, "COMMIT", 0, NULL, NULL));
	free(files);
}

/* The step being shown by the progress lines, if one is open. */
static bool progress_on = false;
static bool progress_open = false;
static struct timeval progress_start;

/* Seconds since progress_start. */
static double
progress_elapsed(void)
{
	struct timeval now;

	gettimeofday(&now, NULL);
	return (now.tv_sec - progress_start.tv_sec) +
		(now.tv_usec - progress_start.tv_usec) / 1e6;
}

/* Ends the open progress line with the step's duration. */
void
progress_finish(void)
{
	if (!progress_open)
		return;
	printf("  %.1f s\n", progress_elapsed());
	fflush(stdout);
	progress_open = false;
}

/*
 * Reads a step NOTICE ("deploy 2/3: revision "id"" and an optional
 * " - message"); false for every other notice, the statement notices of
 * non-transactional revisions included.
 */
static bool
parse_step_notice(const char *msg, int *k, int *n, char *id, size_t idsize)
{
	const char *p = strstr(msg, ": revision \"");
	const char *q;
	char		op[32];

	if (p == NULL || sscanf(msg, "%31s %d/%d:", op, k, n) != 3)
		return false;
	p += strlen(": revision \"");
	q = strchr(p, '"');
	if (q == NULL || (q[1] != '\0' && strncmp(q + 1, " - ", 3) != 0))
		return false;
	snprintf(id, idsize, "%.*s", (int) (q - p), p);
	return true;
}

/*
 * Notice receiver: step notices become progress lines on stdout when
 * progress is on, and are dropped otherwise; other notices go to stderr as
 * psql prints them.
 */
static void
notice_receiver(void *arg, const PGresult *res)
{
	const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	int			k,
				n;
	char		id[256];

	(void) arg;
	if (msg != NULL && parse_step_notice(msg, &k, &n, id, sizeof(id)))
	{
		if (!progress_on)
			return;
		progress_finish();
		printf("[%d/%d] %s", k, n, id);
		fflush(stdout);
		gettimeofday(&progress_start, NULL);
		progress_open = true;
		return;
	}
	if (msg != NULL && strstr(msg, ": revision \"") != NULL &&
		strstr(msg, ", statement ") != NULL)
		return;					/* a statement of a non-transactional step */
	progress_finish();
	print_server_message(stderr, res);
}

/* Installs the notice receiver, with progress lines or without. */
void
install_progress(PGconn *conn, bool on)
{
	progress_on = on;
	PQsetNoticeReceiver(conn, notice_receiver, NULL);
}
