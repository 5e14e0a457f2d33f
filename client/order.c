/*
 * order.c: the headers of a directory's migration files, and the order in
 * which to register them: parents and depends_on first (a topological
 * order of the headers), ties in byte order of the file names.  A file
 * without a parents header comes after every file before it, as add()
 * gives it the single head of what is registered.
 */
#include <stdlib.h>
#include <string.h>

#include "pg_migrate.h"

/* Strips a line end (LF or CRLF) and trailing blanks in place. */
static void
chomp(char *line)
{
	size_t		n = strlen(line);

	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' ||
					 line[n - 1] == ' ' || line[n - 1] == '\t'))
		line[--n] = '\0';
}

/* Reads the header lines of a file, up to its first marker of a section. */
static void
read_headers(FileRev *fr)
{
	char	   *text = read_file(fr->path, NULL);
	char	   *line = text;

	fr->labels = "";
	fr->depends_on = "";
	if (strncmp(line, "\xEF\xBB\xBF", 3) == 0)
		line += 3;				/* a UTF-8 byte-order mark */
	while (line != NULL && *line != '\0')
	{
		char	   *next = strchr(line, '\n');

		if (next != NULL)
			*next++ = '\0';
		chomp(line);
		if (strcmp(line, "-- migrate:up") == 0 || strcmp(line, "-- migrate:down") == 0)
			break;
		if (line[0] != '\0' && strncmp(line, "--", 2) != 0)
			break;				/* SQL: the headers are over */
		if (strncmp(line, "-- migrate:revision ", 20) == 0)
			fr->id = pg_strdup(line + 20 + strspn(line + 20, " "));
		else if (strncmp(line, "-- migrate:parents", 18) == 0)
			fr->parents = pg_strdup(line[18] ? line + 19 : "");
		else if (strncmp(line, "-- migrate:depends_on", 21) == 0)
			fr->depends_on = pg_strdup(line[21] ? line + 22 : "");
		else if (strncmp(line, "-- migrate:branch_labels", 24) == 0)
			fr->labels = pg_strdup(line[24] ? line + 25 : "");
		line = next;
	}
	free(text);
}

/* The index of the file whose id or branch label is name, or -1. */
int
find_rev(FileRev *revs, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (revs[i].id != NULL && strcmp(revs[i].id, name) == 0)
			return i;
	for (int i = 0; i < n; i++)
	{
		char	   *labels = pg_strdup(revs[i].labels);
		char	   *save;

		for (char *l = strtok_r(labels, " ", &save); l != NULL; l = strtok_r(NULL, " ", &save))
			if (strcmp(l, name) == 0)
			{
				free(labels);
				return i;
			}
		free(labels);
	}
	return -1;
}

/* Reads the directory's files, in byte order of their names; n gets their count. */
FileRev *
read_revs(const char *dir, int *n)
{
	char	  **files = list_sql_files(dir, n);
	FileRev    *revs = pg_malloc(sizeof(FileRev) * (*n + 1));

	memset(revs, 0, sizeof(FileRev) * (*n + 1));
	for (int i = 0; i < *n; i++)
	{
		revs[i].path = files[i];
		read_headers(&revs[i]);
	}
	free(files);
	return revs;
}

/* A name a header gives that no file's revision or label is. */
typedef struct Missing
{
	const char *name;
	const char *header;			/* "parent" or "depends_on" */
	const char *path;
} Missing;

/* The files each file comes after, and the names no file has. */
typedef struct Order
{
	FileRev    *revs;
	int			n;
	int		  **deps;			/* deps[i]: indexes, -1 ending */
	bool	   *placed;
	int			first_unplaced;
	Missing    *missing;
	int			nmissing;
} Order;

/* Adds to file i's deps the files that the names of one header name. */
static void
add_deps(Order *o, int i, const char *names, const char *header, int *k)
{
	char	   *copy = pg_strdup(names);
	char	   *save;

	for (char *p = strtok_r(copy, " ", &save); p != NULL; p = strtok_r(NULL, " ", &save))
	{
		int			j = find_rev(o->revs, o->n, p);

		if (j >= 0)
			o->deps[i][(*k)++] = j;
		else if (strcmp(p, "base") != 0)
		{
			o->missing[o->nmissing].name = pg_strdup(p);
			o->missing[o->nmissing].header = header;
			o->missing[o->nmissing++].path = o->revs[i].path;
		}
	}
	free(copy);
}

/*
 * Whether file i may come next: what it names is placed, and for a file
 * without a parents header, every file before it too.
 */
static bool
is_ready(const Order *o, int i)
{
	if (o->revs[i].parents == NULL && o->first_unplaced < i)
		return false;
	for (int *d = o->deps[i]; *d >= 0; d++)
		if (!o->placed[*d])
			return false;
	return true;
}

/* A file that file i waits for: an unplaced dependency or earlier file. */
static int
waits_for(const Order *o, int i)
{
	for (int *d = o->deps[i]; *d >= 0; d++)
		if (!o->placed[*d])
			return *d;
	return o->first_unplaced;
}

/*
 * Exits 1 naming the files of a cycle: from the first file not placed,
 * what each waits for, until a file comes again.
 */
static void
report_cycle(const Order *o)
{
	int		   *seen = pg_malloc(sizeof(int) * (o->n + 1));
	int			i = o->first_unplaced,
				start;

	for (int k = 0; k < o->n; k++)
		seen[k] = -1;
	for (int step = 0; seen[i] < 0; step++)
	{
		seen[i] = step;
		i = waits_for(o, i);
	}
	start = i;
	pg_log_error("the parents and depends_on headers of these files form a cycle (each names the next, the last the first):");
	do
	{
		fprintf(stderr, "  %s%s\n", o->revs[i].path,
				o->revs[i].parents == NULL ? " (no parents header: after every file before it)" : "");
		i = waits_for(o, i);
	} while (i != start);
	fprintf(stderr, "HINT:  A file's parents must not descend from it; fix the headers.\n");
	exit(1);
}

/*
 * Exits 1 if a header names a revision that is neither a file's nor
 * registered in the database.
 */
static void
check_missing(PGconn *conn, const Order *o, const char *dir)
{
	for (int m = 0; m < o->nmissing; m++)
	{
		const char *params[1] = {o->missing[m].name};
		PGresult   *res = run_query(conn, "SELECT 1 FROM migrate.revisions() r "
									"WHERE r.revision = $1 OR $1 = ANY (r.branch_labels)",
									1, params, NULL);
		bool		found = PQntuples(res) > 0;

		PQclear(res);
		if (found)
			continue;
		pg_log_error("%s \"%s\" of file \"%s\" is neither the revision of a file of \"%s\" nor registered in the database",
					 o->missing[m].header, o->missing[m].name, o->missing[m].path, dir);
		fprintf(stderr, "HINT:  Add the missing file, or correct the header.\n");
		PQfinish(conn);
		exit(1);
	}
}

/*
 * The paths of dir's migration files in the order to register them: each
 * after the files its parents and depends_on headers name, ties in byte
 * order.  A cycle, or a name neither a file nor the database knows, is an
 * error naming the files.  n gets their count.
 */
char **
ordered_files(PGconn *conn, const char *dir, int *n)
{
	Order		o;
	char	  **out;
	int			nwords = 0;

	memset(&o, 0, sizeof(o));
	o.revs = read_revs(dir, &o.n);
	o.deps = pg_malloc(sizeof(int *) * (o.n + 1));
	o.placed = pg_malloc(sizeof(bool) * (o.n + 1));
	for (int i = 0; i < o.n; i++)
		nwords += strlen(o.revs[i].parents ? o.revs[i].parents : "") +
			strlen(o.revs[i].depends_on) + 1;
	o.missing = pg_malloc(sizeof(Missing) * (nwords + 1));
	for (int i = 0; i < o.n; i++)
	{
		int			k = 0;
		const char *parents = o.revs[i].parents ? o.revs[i].parents : "";

		o.deps[i] = pg_malloc(sizeof(int) * (strlen(parents) + strlen(o.revs[i].depends_on) + 2));
		add_deps(&o, i, parents, "parent", &k);
		add_deps(&o, i, o.revs[i].depends_on, "depends_on", &k);
		o.deps[i][k] = -1;
		o.placed[i] = false;
	}
	out = pg_malloc(sizeof(char *) * (o.n + 1));
	for (int k = 0; k < o.n; k++)
	{
		int			i = o.first_unplaced;

		while (i < o.n && (o.placed[i] || !is_ready(&o, i)))
			i++;
		if (i == o.n)
			report_cycle(&o);
		o.placed[i] = true;
		out[k] = o.revs[i].path;
		while (o.first_unplaced < o.n && o.placed[o.first_unplaced])
			o.first_unplaced++;
	}
	if (o.nmissing > 0)
		check_missing(conn, &o, dir);
	*n = o.n;
	return out;
}
