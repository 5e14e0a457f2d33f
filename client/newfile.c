/*
 * newfile.c: pg_migrate new, which writes a migration file with a generated
 * sortable id and explicit parents computed from the directory's files.
 * No database is involved.
 */
#define _DEFAULT_SOURCE			/* timegm() */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "pg_migrate.h"

/* revision ids have at most this many bytes (MIGRATE_ID_MAXLEN) */
#define MAXID 128

/*
 * Marks the parents of file i as having a child.  A file without a parents
 * header is the child of the heads of the files before it (the single head,
 * as add() reads parents => NULL, when the files are registered in order).
 */
static void
mark_parents(FileRev *revs, int n, int i)
{
	char	   *list;
	char	   *save;

	if (revs[i].parents == NULL)
	{
		for (int j = 0; j < i; j++)
			if (revs[j].id != NULL)
				revs[j].has_child = true;
		return;
	}
	list = pg_strdup(revs[i].parents);
	for (char *p = strtok_r(list, " ", &save); p != NULL; p = strtok_r(NULL, " ", &save))
	{
		int			j = find_rev(revs, n, p);

		if (j >= 0)
			revs[j].has_child = true;
	}
	free(list);
}

/*
 * The heads of the files' graph, space-separated ("base" when there is no
 * file); nheads gets their count.
 */
static char *
file_heads(FileRev *revs, int n, int *nheads)
{
	char	   *heads = pg_malloc(n * (MAXID + 2) + 8);

	*nheads = 0;
	for (int i = 0; i < n; i++)
		if (revs[i].id != NULL)
			mark_parents(revs, n, i);
	heads[0] = '\0';
	for (int i = 0; i < n; i++)
		if (revs[i].id != NULL && !revs[i].has_child)
		{
			if ((*nheads)++ > 0)
				strcat(heads, " ");
			strncat(heads, revs[i].id, MAXID);
		}
	if (*nheads == 0)
		strcpy(heads, "base");
	return heads;
}

/*
 * The parents of the new file: --head's revision, or the single head of the
 * files' graph; several heads are an error naming them.
 */
static char *
new_parents(const Options *opts, FileRev *revs, int n)
{
	char	   *heads;
	int			nheads;

	if (opts->head != NULL)
	{
		int			j = find_rev(revs, n, opts->head);

		if (strcmp(opts->head, "base") == 0)
			return pg_strdup("base");
		if (j < 0)
			pg_fatal("revision \"%s\" of --head is not in a file of \"%s\"", opts->head, opts->dir);
		return pg_strdup(revs[j].id);
	}
	heads = file_heads(revs, n, &nheads);
	if (nheads > 1)
	{
		pg_log_error("the files of \"%s\" have %d heads: %s", opts->dir, nheads, heads);
		fprintf(stderr, "HINT:  Pass --head REV to start from one of them, or merge them first.\n");
		exit(1);
	}
	return heads;
}

/*
 * The time of the new id: now, or one second after the latest file named
 * with a YYYYMMDDHHMMSS prefix if that is not earlier, so that the new file
 * sorts (and so registers) after every such file, its parents included.
 */
static time_t
new_time(FileRev *revs, int n)
{
	time_t		t = time(NULL);

	for (int i = 0; i < n; i++)
	{
		const char *base = strrchr(revs[i].path, '/');
		struct tm	tm;
		time_t		ft;

		base = base ? base + 1 : revs[i].path;
		memset(&tm, 0, sizeof(tm));
		if (strspn(base, "0123456789") < 14 ||
			sscanf(base, "%4d%2d%2d%2d%2d%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
				   &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
			continue;
		tm.tm_year -= 1900;
		tm.tm_mon -= 1;
		ft = timegm(&tm);
		if (ft != (time_t) -1 && ft >= t)
			t = ft + 1;
	}
	return t;
}

/* The id: a UTC time as YYYYMMDDHHMMSS, "_", and a slug of the message. */
static char *
new_id(const char *message, time_t t)
{
	char	   *id = pg_malloc(16 + 41);
	size_t		len;

	strftime(id, 16, "%Y%m%d%H%M%S", gmtime(&t));
	len = strlen(id);
	id[len++] = '_';
	for (const char *m = message; *m != '\0' && len < 15 + 40; m++)
	{
		if (isalnum((unsigned char) *m) && !((unsigned char) *m & 0x80))
			id[len++] = tolower((unsigned char) *m);
		else if (id[len - 1] != '_')
			id[len++] = '_';
	}
	while (id[len - 1] == '_')
		len--;					/* the slug's trailing "_", or an empty slug's */
	id[len] = '\0';
	return id;
}

/* Writes the new file; refuses to overwrite one. */
static void
write_file(const char *path, const char *id, const char *parents, const Options *opts)
{
	FILE	   *f = fopen(path, "wx");

	if (f == NULL)
		pg_fatal("could not create file \"%s\": %s", path, strerror(errno));
	fprintf(f, "-- migrate:revision %s\n-- migrate:parents %s\n", id, parents);
	if (opts->ndepends_on > 0)
	{
		fprintf(f, "-- migrate:depends_on");
		for (int i = 0; i < opts->ndepends_on; i++)
			fprintf(f, " %s", opts->depends_on[i]);
		fprintf(f, "\n");
	}
	if (opts->branch_label != NULL)
		fprintf(f, "-- migrate:branch_labels %s\n", opts->branch_label);
	if (opts->message[0] != '\0')
		fprintf(f, "-- migrate:message %s\n", opts->message);
	fprintf(f, "-- migrate:up\n\n-- migrate:down\n\n");
	if (fclose(f) != 0)
		pg_fatal("could not write file \"%s\": %s", path, strerror(errno));
}

/*
 * Writes a new file whose parents parents_of() computes from the directory's
 * files, and prints its path.
 */
static int
write_new(const Options *opts, char *(*parents_of) (const Options *, FileRev *, int))
{
	FileRev    *revs;
	int			n;
	char	   *id,
			   *parents,
			   *path;
	struct stat st;

	if (strpbrk(opts->message, "\r\n") != NULL)
		pg_fatal("the message must be a single line");
	if (stat(opts->dir, &st) != 0 && mkdir(opts->dir, 0777) != 0)
		pg_fatal("could not create directory \"%s\": %s", opts->dir, strerror(errno));
	revs = read_revs(opts->dir, &n);
	parents = parents_of(opts, revs, n);
	id = new_id(opts->message, new_time(revs, n));
	path = pg_malloc(strlen(opts->dir) + strlen(id) + 6);
	sprintf(path, "%s/%s.sql", opts->dir, id);
	write_file(path, id, parents, opts);
	printf("%s\n", path);
	return 0;
}

/* new "message": writes the file and prints its path. */
int
cmd_new(const Options *opts)
{
	return write_new(opts, new_parents);
}

/* The parents of a merge file: every head of the files, at least two. */
static char *
merge_parents(const Options *opts, FileRev *revs, int n)
{
	int			nheads;
	char	   *heads = file_heads(revs, n, &nheads);

	if (nheads < 2)
		pg_fatal("nothing to merge: the files of \"%s\" have a single head (%s)", opts->dir, heads);
	return heads;
}

/* merge [-m MSG]: writes a file joining every head of the files. */
int
cmd_merge(const Options *opts)
{
	return write_new(opts, merge_parents);
}
