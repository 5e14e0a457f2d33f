/*
 * import.c: pg_migrate import --from TOOL SRC, which writes migrate files
 * from the migrations of golang-migrate, dbmate, diesel, Flyway or Sqitch.
 *
 * Each reader turns the tool's layout into ImportRevs in the tool's order;
 * then every file is checked (ids, existing files) before the first one is
 * written, so a refusal writes nothing.  Files are named NNNN_<id>.sql so
 * that byte order, in which directories register, is the tool's order, and
 * each has an explicit parents header: the migration before it.  No
 * database is involved.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "pg_migrate.h"

/* revision ids have at most this many bytes (MIGRATE_ID_MAXLEN) */
#define MAXID 128

/* One migration of the other tool, as it becomes a migrate file. */
typedef struct ImportRev
{
	char	   *id;
	char	   *key;			/* orders the migrations (see ImportSet.cmp) */
	char	   *source;			/* the file it comes from, for messages */
	char	   *message;		/* NULL: none */
	char	   *depends_on;		/* space-separated, or NULL */
	char	   *up;
	char	   *down;			/* NULL: irreversible */
	bool		nontransactional;
	int			dialect;		/* golang-migrate: 1 a .postgres. up file, 0 none */
	int			down_dialect;	/* the same of its down file */
} ImportRev;

/* The migrations read, and how their keys order them (NULL: as read). */
typedef struct ImportSet
{
	ImportRev  *revs;
	int			n;
	int			cap;
	int			(*cmp) (const char *a, const char *b);
} ImportSet;

/* The key compare function of the set being sorted (qsort has no argument). */
static int	(*sort_cmp) (const char *a, const char *b);

/* Appends a migration to the set; returns it, zeroed. */
static ImportRev *
add_rev(ImportSet *set)
{
	if (set->n == set->cap)
	{
		set->cap = set->cap ? set->cap * 2 : 32;
		set->revs = realloc(set->revs, set->cap * sizeof(ImportRev));
		if (set->revs == NULL)
			pg_fatal("out of memory");
	}
	memset(&set->revs[set->n], 0, sizeof(ImportRev));
	return &set->revs[set->n++];
}

/* A new string of the first len bytes of s. */
static char *
strndup_or_die(const char *s, size_t len)
{
	char	   *p = pg_malloc(len + 1);

	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

/* A new string "a/b". */
static char *
path_join(const char *a, const char *b)
{
	char	   *p = pg_malloc(strlen(a) + strlen(b) + 2);

	sprintf(p, "%s/%s", a, b);
	return p;
}

/* Whether s ends with suffix. */
static bool
ends_with(const char *s, const char *suffix)
{
	size_t		n = strlen(s),
				m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Whether path is a regular file. */
static bool
is_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* A file's text without a leading UTF-8 byte-order mark; NULL if missing. */
static char *
read_source(const char *path)
{
	char	   *text;

	if (!is_file(path))
		return NULL;
	text = read_file(path, NULL);
	if (strncmp(text, "\xEF\xBB\xBF", 3) == 0)
		memmove(text, text + 3, strlen(text + 3) + 1);
	return text;
}

/* Orders names by their bytes. */
static int
compare_strings(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/*
 * The names of dir's entries that are directories (dirs) or regular files,
 * dot files left out, sorted by their bytes; n gets their count.
 */
static char **
list_entries(const char *dir, bool dirs, int *n)
{
	DIR		   *d = opendir(dir);
	struct dirent *de;
	char	  **names = NULL;
	int			cap = 0;

	*n = 0;
	if (d == NULL)
		pg_fatal("could not open directory \"%s\": %s", dir, strerror(errno));
	while ((de = readdir(d)) != NULL)
	{
		char	   *path = path_join(dir, de->d_name);
		struct stat st;
		bool		keep = de->d_name[0] != '.' && stat(path, &st) == 0 &&
			(dirs ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode));

		free(path);
		if (!keep)
			continue;
		if (*n == cap)
		{
			cap = cap ? cap * 2 : 32;
			names = realloc(names, cap * sizeof(char *));
			if (names == NULL)
				pg_fatal("out of memory");
		}
		names[(*n)++] = pg_strdup(de->d_name);
	}
	closedir(d);
	if (*n > 0)
		qsort(names, *n, sizeof(char *), compare_strings);
	return names;
}

/* Says on stderr that a file is not read, and why. */
static void
skip_file(const char *path, const char *why)
{
	fprintf(stderr, "%s: warning: skipping \"%s\": %s\n", progname, path, why);
}

/* Whether a line (up to its end) is the given statement, case aside. */
static bool
line_is(const char *line, const char *const *words)
{
	size_t		len = strcspn(line, "\r\n");

	while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t'))
		len--;
	for (; *words != NULL; words++)
		if (strlen(*words) == len && strncasecmp(line, *words, len) == 0)
			return true;
	return false;
}

/* Whether a line holds SQL: not blank, not only a "--" comment. */
static bool
is_sql_line(const char *line)
{
	line += strspn(line, " \t\r");
	return *line != '\n' && *line != '\0' && strncmp(line, "--", 2) != 0;
}

/* Removes a line, its line end included, from the string it is in. */
static void
remove_line(char *line)
{
	size_t		len = strcspn(line, "\n");

	if (line[len] == '\n')
		len++;
	memmove(line, line + len, strlen(line + len) + 1);
}

/*
 * Takes out a BEGIN/COMMIT pair wrapping the whole script (Sqitch's
 * templates write one; so do hand-written golang-migrate files): migrate
 * runs each revision in a transaction and refuses transaction control.
 * Only whole lines, the first and the last SQL lines, and only together.
 */
static void
strip_transaction(char *sql)
{
	static const char *const begins[] = {"BEGIN;", "BEGIN TRANSACTION;", "START TRANSACTION;", NULL};
	static const char *const commits[] = {"COMMIT;", "COMMIT TRANSACTION;", "END;", NULL};
	char	   *first = NULL,
			   *last = NULL;

	for (char *line = sql; *line != '\0';)
	{
		char	   *next = strchr(line, '\n');

		if (is_sql_line(line))
		{
			if (first == NULL)
				first = line;
			last = line;
		}
		if (next == NULL)
			break;
		line = next + 1;
	}
	if (first == NULL || first == last || !line_is(first, begins) || !line_is(last, commits))
		return;
	remove_line(last);			/* the last first, so that first stays put */
	remove_line(first);
}

/* The message of a tool that has none: the name after the version, "_" as " ". */
static char *
message_of(const char *name)
{
	char	   *m = pg_strdup(name);

	for (char *p = m; *p != '\0'; p++)
		if (*p == '_')
			*p = ' ';
	return m;
}

/* ------------------------------------------------------------ golang-migrate */

/*
 * Orders golang-migrate versions (unsigned numbers, keys zero-padded to 20
 * digits) and diesel versions (strings): by their bytes.
 */
static int
compare_keys(const char *a, const char *b)
{
	return strcmp(a, b);
}

/*
 * Reads a golang-migrate name, "{version}_{title}.{up|down}.sql"; popx's
 * ".{dialect}" and ".autocommit" before ".up" are understood too.  Returns
 * the id (version_title) or NULL; *up and *nontx say more, *dialect is 1
 * for ".postgres", -1 for another dialect's file, 0 for none.
 */
static char *
golang_name(const char *name, bool *up, bool *nontx, int *dialect)
{
	size_t		digits = strspn(name, "0123456789");
	char	   *id;
	char	   *dot;

	*up = ends_with(name, ".up.sql");
	if (digits == 0 || name[digits] != '_' || (!*up && !ends_with(name, ".down.sql")))
		return NULL;
	id = strndup_or_die(name, strlen(name) - (*up ? 7 : 9));
	*nontx = false;
	*dialect = 0;
	while ((dot = strrchr(id + digits, '.')) != NULL)
	{
		if (strcmp(dot, ".autocommit") == 0)
			*nontx = true;
		else if (strcmp(dot, ".mysql") == 0 || strcmp(dot, ".sqlite3") == 0 ||
				 strcmp(dot, ".sqlite") == 0 || strcmp(dot, ".cockroach") == 0)
			*dialect = -1;
		else if (strcmp(dot, ".postgres") == 0)
			*dialect = 1;
		else
			break;
		*dot = '\0';
	}
	return id;
}

/*
 * The order key of a golang-migrate version: its digits without leading
 * zeros, right-aligned in 40 characters (popx's have 20, more than a
 * 64-bit number holds), so that byte order is numeric order.
 */
static char *
version_key(const char *id)
{
	size_t		digits = strspn(id, "0123456789");
	size_t		zeros = strspn(id, "0");
	char	   *key = pg_malloc(digits + 42);

	if (zeros == digits)
		zeros--;				/* "0" stays */
	digits -= zeros;
	sprintf(key, "%*s%.*s", (int) (digits < 40 ? 40 - digits : 0), "", (int) digits, id + zeros);
	return key;
}

/* The migration of id in set, or NULL. */
static ImportRev *
find_import(ImportSet *set, const char *id)
{
	for (int i = 0; i < set->n; i++)
		if (strcmp(set->revs[i].id, id) == 0)
			return &set->revs[i];
	return NULL;
}

/*
 * Reads a golang-migrate up file into the set.  A popx ".postgres." file
 * takes the place of a dialect-free one of the same id, as popx prefers
 * it; two files of one dialect stay two (check_revs refuses them).
 */
static void
golang_up(ImportSet *set, char *id, char *path, bool nontx, int dialect)
{
	ImportRev  *r = find_import(set, id);

	if (r != NULL && r->dialect > dialect)
		return;
	if (r == NULL || r->dialect == dialect)
		r = add_rev(set);
	r->id = id;
	r->source = path;
	r->key = version_key(id);
	r->message = message_of(id + strspn(id, "0123456789") + 1);
	r->up = read_source(path);
	r->nontransactional = nontx || strstr(r->up, "-- morph:nontransactional") != NULL;
	r->dialect = dialect;
}

/*
 * golang-migrate (and mattermost's and ory/popx's variants of its layout):
 * pairs of up and down files in SRC, ordered by their numeric version.
 * mattermost's "-- morph:nontransactional" line marks a migration so.
 */
static void
read_golang_migrate(const char *src, ImportSet *set)
{
	int			n;
	char	  **names = list_entries(src, false, &n);

	set->cmp = compare_keys;
	for (int pass = 0; pass < 2; pass++)	/* the up files first */
		for (int i = 0; i < n; i++)
		{
			bool		up,
						nontx;
			int			dialect;
			char	   *id = golang_name(names[i], &up, &nontx, &dialect);
			char	   *path = path_join(src, names[i]);
			ImportRev  *r;

			if (id == NULL || dialect < 0 || up != (pass == 0))
			{
				if (id == NULL && pass == 0)
					skip_file(path, "not a golang-migrate file name ({version}_{title}.up.sql or .down.sql)");
				continue;
			}
			if (pass == 0)
			{
				golang_up(set, id, path, nontx, dialect);
				continue;
			}
			r = find_import(set, id);
			if (r == NULL)
				pg_fatal("down file \"%s\" has no up file", path);
			if (r->down != NULL && r->down_dialect > dialect)
				continue;
			r->down = read_source(path);
			r->down_dialect = dialect;
			r->nontransactional |= nontx || strstr(r->down, "-- morph:nontransactional") != NULL;
		}
}

/* ------------------------------------------------------------------ dbmate */

/* Appends a line and a line end to a section's text. */
static void
append_line(char **text, const char *line)
{
	size_t		len = strlen(*text);
	char	   *p = pg_malloc(len + strlen(line) + 2);

	sprintf(p, "%s%s\n", *text, line);
	free(*text);
	*text = p;
}

/*
 * Splits a dbmate file at its "-- migrate:up" and "-- migrate:down" lines
 * (options after them, as "transaction:false"); anything but comments
 * before the first is refused, as dbmate refuses it.
 */
static void
split_dbmate(char *text, ImportRev *r)
{
	char	  **section = NULL;

	for (char *line = text; line != NULL && *line != '\0';)
	{
		char	   *next = strchr(line, '\n');
		bool		up = strncmp(line, "-- migrate:up", 13) == 0 && strchr(" \t\r\n", line[13]);
		bool		down = strncmp(line, "-- migrate:down", 15) == 0 && strchr(" \t\r\n", line[15]);

		if (next != NULL)
			*next++ = '\0';
		if (up || down)
		{
			if (strstr(line, "transaction:false") != NULL)
				r->nontransactional = true;
			section = up ? &r->up : &r->down;
			*section = pg_strdup("");
		}
		else if (section != NULL)
			append_line(section, line);
		else if (is_sql_line(line))
			pg_fatal("file \"%s\" has SQL before its \"-- migrate:up\" line", r->source);
		line = next;
	}
	if (r->up == NULL)
		pg_fatal("file \"%s\" has no \"-- migrate:up\" line", r->source);
}

/* dbmate: SRC/{version}_{name}.sql, in the order of their names. */
static void
read_dbmate(const char *src, ImportSet *set)
{
	int			n;
	char	  **names = list_entries(src, false, &n);

	for (int i = 0; i < n; i++)
	{
		char	   *path = path_join(src, names[i]);
		size_t		digits = strspn(names[i], "0123456789");
		ImportRev  *r;

		if (digits == 0 || !ends_with(names[i], ".sql"))
		{
			skip_file(path, "not a dbmate file name ({version}_{name}.sql)");
			continue;
		}
		r = add_rev(set);
		r->id = strndup_or_die(names[i], strlen(names[i]) - 4);
		r->source = path;
		if (r->id[digits] == '_')
			r->message = message_of(r->id + digits + 1);
		split_dbmate(read_source(path), r);
	}
}

/* ------------------------------------------------------------------ diesel */

/*
 * diesel: SRC/{version}_{name}/ with up.sql, down.sql (optional) and
 * metadata.toml (run_in_transaction = false); ordered by the version, the
 * part before the first "_" without its "-".
 */
static void
read_diesel(const char *src, ImportSet *set)
{
	int			n;
	char	  **names = list_entries(src, true, &n);

	set->cmp = compare_keys;
	for (int i = 0; i < n; i++)
	{
		char	   *dir = path_join(src, names[i]);
		char	   *up = path_join(dir, "up.sql");
		char	   *meta = path_join(dir, "metadata.toml");
		char	   *down = path_join(dir, "down.sql");
		const char *sep = strchr(names[i], '_');
		ImportRev  *r;
		char	   *k;

		if (!is_file(up))
		{
			skip_file(dir, "no up.sql in it");
			continue;
		}
		r = add_rev(set);
		r->id = names[i];
		r->source = up;
		r->key = k = pg_malloc(2 * strlen(names[i]) + 2);
		for (const char *p = names[i]; *p != '\0' && p != sep; p++)
			if (*p != '-')
				*k++ = *p;
		sprintf(k, "\x01%s", names[i]);
		r->message = sep ? message_of(sep + 1) : NULL;
		r->up = read_source(up);
		r->down = read_source(down);
		if (is_file(meta))
		{
			char	   *toml = read_source(meta);

			for (char *p = toml; (p = strstr(p, "run_in_transaction")) != NULL; p++)
				if (strncmp(p + 18 + strspn(p + 18, " \t="), "false", 5) == 0)
					r->nontransactional = true;
		}
	}
}

/* ------------------------------------------------------------------ Flyway */

/* A Flyway version's next part ("_" is "."): its digits, leading zeros off. */
static const char *
flyway_part(const char **p, size_t *len)
{
	const char *s = *p;

	*len = strcspn(s, "._");
	*p = s[*len] != '\0' ? s + *len + 1 : s + *len;
	while (*len > 0 && *s == '0')
	{
		s++;
		(*len)--;
	}
	return s;
}

/* Orders Flyway versions as Flyway does: numeric parts, a missing one is 0. */
static int
flyway_compare(const char *a, const char *b)
{
	while (*a != '\0' || *b != '\0')
	{
		size_t		la,
					lb;
		const char *pa = flyway_part(&a, &la);
		const char *pb = flyway_part(&b, &lb);
		int			c = la != lb ? (la < lb ? -1 : 1) : memcmp(pa, pb, la);

		if (c != 0)
			return c;
	}
	return 0;
}

/* Whether a Flyway script's NAME.sql.conf says executeInTransaction=false. */
static bool
flyway_nontransactional(const char *path)
{
	char	   *conf_path = pg_malloc(strlen(path) + 6);
	char	   *conf;
	bool		nontx = false;

	sprintf(conf_path, "%s.conf", path);
	conf = read_source(conf_path);
	for (char *p = conf; p != NULL && (p = strstr(p, "executeInTransaction")) != NULL; p++)
		if (strncmp(p + 20 + strspn(p + 20, " \t="), "false", 5) == 0)
			nontx = true;
	free(conf_path);
	free(conf);
	return nontx;
}

/*
 * Reads one Flyway script: a V file becomes a migration, a U file the down
 * SQL of its version (set in a second pass), an R file is refused.
 */
static void
read_flyway_file(const char *path, const char *name, ImportSet *set, ImportSet *undo)
{
	const char *sep = strstr(name, "__");
	ImportRev  *r;

	if (name[0] == 'R' && sep == name + 1)
	{
		pg_log_error("cannot import Flyway repeatable migration \"%s\"", path);
		fprintf(stderr, "HINT:  A revision runs once: make the repeatable migration's current SQL a versioned (V) migration, and each later change of it a new one, then import again.\n");
		exit(1);
	}
	if (sep == NULL || sep == name + 1 || (name[0] != 'V' && name[0] != 'U') ||
		strspn(name + 1, "0123456789._") < (size_t) (sep - name - 1))
	{
		skip_file(path, "not a Flyway migration name (V{version}__{description}.sql or U...)");
		return;
	}
	r = add_rev(name[0] == 'V' ? set : undo);
	r->id = strndup_or_die(name, strlen(name) - 4);
	r->key = strndup_or_die(name + 1, sep - name - 1);
	r->source = pg_strdup(path);
	r->message = message_of(sep + 2);
	r->message[strlen(r->message) - 4] = '\0';
	r->up = read_source(path);
	r->nontransactional = flyway_nontransactional(path);
}

/* Reads every *.sql file under dir, subdirectories included, as Flyway scans. */
static void
scan_flyway(const char *dir, ImportSet *set, ImportSet *undo)
{
	int			n;
	char	  **names = list_entries(dir, false, &n);

	for (int i = 0; i < n; i++)
		if (ends_with(names[i], ".sql"))
			read_flyway_file(path_join(dir, names[i]), names[i], set, undo);
	names = list_entries(dir, true, &n);
	for (int i = 0; i < n; i++)
		scan_flyway(path_join(dir, names[i]), set, undo);
}

/*
 * Flyway: V{version}__{description}.sql anywhere under SRC, in version
 * order; U files (Flyway Teams' undo) are the down SQL of their version.
 */
static void
read_flyway(const char *src, ImportSet *set)
{
	ImportSet	undo = {0};

	set->cmp = flyway_compare;
	scan_flyway(src, set, &undo);
	for (int i = 0; i < undo.n; i++)
	{
		ImportRev  *r = NULL;

		for (int j = 0; j < set->n && r == NULL; j++)
			if (flyway_compare(set->revs[j].key, undo.revs[i].key) == 0)
				r = &set->revs[j];
		if (r == NULL)
			pg_fatal("undo migration \"%s\" has no versioned migration", undo.revs[i].source);
		r->down = undo.revs[i].up;
	}
}

/* ------------------------------------------------------------------ Sqitch */

/* What the plan says of one change. */
typedef struct PlanChange
{
	char	   *name;
	char	   *requires;		/* the bracketed list, space-separated */
	char	   *note;
	int			instance;		/* 1, or 2, 3... for a reworked change */
} PlanChange;

/* The Sqitch plan read: its changes and tags in order, and its project. */
typedef struct Plan
{
	PlanChange *changes;
	int			n;
	char	  **tags;
	int		   *tag_pos;		/* how many changes are planned before the tag */
	int			ntags;
	const char *project;
} Plan;

/*
 * Reads one change line of a plan: "name [requires] time planner <email>
 * # note" (the "[...]" optional).
 */
static void
read_plan_change(char *line, PlanChange *c, const Plan *plan, const char *where)
{
	char	   *hash = strstr(line, " #");
	char	   *rest;

	if (*line == '-')
		pg_fatal("%s: a change that the plan reverts (\"-\") cannot be imported", where);
	if (*line == '+')
		line++;
	c->note = hash ? pg_strdup(hash + 2 + strspn(hash + 2, " \t")) : NULL;
	if (hash != NULL)
		*hash = '\0';
	c->name = strndup_or_die(line, strcspn(line, " \t["));
	rest = line + strlen(c->name);
	rest += strspn(rest, " \t");
	c->requires = *rest == '[' ? strndup_or_die(rest + 1, strcspn(rest + 1, "]")) : "";
	c->instance = 1;
	for (int i = 0; i < plan->n; i++)
		if (strcmp(plan->changes[i].name, c->name) == 0)
			c->instance = plan->changes[i].instance + 1;
	if (c->note != NULL && c->note[0] == '\0')
		c->note = NULL;
}

/* Reads SRC/sqitch.plan: pragmas, changes and tags (blank and # lines skipped). */
static Plan
read_plan(const char *src)
{
	char	   *path = path_join(src, "sqitch.plan");
	char	   *text = read_source(path);
	size_t		max;
	Plan		plan = {0};
	int			lineno = 0;
	char		where[1024];

	if (text == NULL)
		pg_fatal("could not open file \"%s\": %s", path, strerror(ENOENT));
	max = strlen(text) / 2 + 1;
	plan.changes = pg_malloc(sizeof(PlanChange) * max);
	plan.tags = pg_malloc(sizeof(char *) * max);
	plan.tag_pos = pg_malloc(sizeof(int) * max);
	plan.project = "";
	for (char *line = text, *next; line != NULL; line = next)
	{
		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		snprintf(where, sizeof(where), "%s:%d", path, ++lineno);
		line[strcspn(line, "\r")] = '\0';
		line += strspn(line, " \t");
		if (strncmp(line, "%project=", 9) == 0)
			plan.project = line + 9;
		if (*line == '\0' || *line == '#' || *line == '%')
			continue;
		if (*line == '@')
		{
			plan.tags[plan.ntags] = strndup_or_die(line + 1, strcspn(line + 1, " \t"));
			plan.tag_pos[plan.ntags++] = plan.n;
			continue;
		}
		memset(&plan.changes[plan.n], 0, sizeof(PlanChange));
		read_plan_change(line, &plan.changes[plan.n], &plan, where);
		plan.n++;
	}
	return plan;
}

/* The revision id of a change: its name, "-2", "-3"... for a rework. */
static char *
sqitch_id(const PlanChange *c)
{
	char	   *id = pg_malloc(strlen(c->name) + 16);

	if (c->instance == 1)
		strcpy(id, c->name);
	else
		sprintf(id, "%s-%d", c->name, c->instance);
	return id;
}

/*
 * The change a "requires" entry of change i names: "name" is its latest
 * instance planned before i, "name@tag" the latest planned before the tag
 * ("proj:" of the plan's own project aside).
 */
static const PlanChange *
resolve_require(const Plan *plan, int i, const char *dep)
{
	const char *colon = strchr(dep, ':');
	const char *at;
	char	   *name;
	int			limit = i;

	if (colon != NULL && ((size_t) (colon - dep) != strlen(plan->project) ||
						  strncmp(dep, plan->project, colon - dep) != 0))
		pg_fatal("change \"%s\" requires \"%s\", a change of another project", plan->changes[i].name, dep);
	dep = colon ? colon + 1 : dep;
	at = strchr(dep, '@');
	name = strndup_or_die(dep, at ? (size_t) (at - dep) : strlen(dep));
	for (int t = 0; at != NULL && t < plan->ntags; t++)
		if (strcmp(plan->tags[t], at + 1) == 0)
			limit = plan->tag_pos[t];
	for (int j = limit - 1; j >= 0; j--)
		if (strcmp(plan->changes[j].name, name) == 0)
			return &plan->changes[j];
	pg_fatal("change \"%s\" requires \"%s\", which is not planned before it", plan->changes[i].name, dep);
}

/* Whether a space-separated list holds word. */
static bool
has_word(const char *list, const char *word)
{
	size_t		len = strlen(word);

	for (const char *p = list; (p = strstr(p, word)) != NULL; p++)
		if ((p == list || p[-1] == ' ') && (p[len] == ' ' || p[len] == '\0'))
			return true;
	return false;
}

/* The depends_on of change i: its requires but its parent and conflicts. */
static char *
sqitch_depends_on(const Plan *plan, int i)
{
	char	   *list = pg_strdup(plan->changes[i].requires);
	char	   *out = pg_malloc(strlen(list) + 16 * (strlen(list) + 1) + 1);
	char	   *save;

	out[0] = '\0';
	for (char *dep = strtok_r(list, " \t", &save); dep != NULL; dep = strtok_r(NULL, " \t", &save))
	{
		const PlanChange *c;
		char	   *id;

		if (dep[0] == '!')
			continue;			/* a conflict, no dependency */
		c = resolve_require(plan, i, dep);
		if (i > 0 && c == &plan->changes[i - 1])
			continue;			/* the parent already */
		id = sqitch_id(c);
		if (!has_word(out, id))
			sprintf(out + strlen(out), "%s%s", out[0] ? " " : "", id);
		free(id);
	}
	free(list);
	return out[0] ? out : NULL;
}

/*
 * The path of change i's script in SRC/DIR: NAME.sql, or for a change
 * reworked later NAME@TAG.sql, TAG the first tag between it and its rework
 * whose file exists, as Sqitch looks for it.
 */
static char *
sqitch_script(const char *src, const char *dir, const Plan *plan, int i)
{
	const PlanChange *c = &plan->changes[i];
	char	   *path = pg_malloc(strlen(src) + strlen(dir) + strlen(c->name) + 1100);
	int			rework = i + 1;
	const char *first_tag = NULL;

	while (rework < plan->n && strcmp(plan->changes[rework].name, c->name) != 0)
		rework++;
	for (int t = 0; rework < plan->n && t < plan->ntags; t++)
	{
		if (plan->tag_pos[t] <= i || plan->tag_pos[t] > rework)
			continue;
		if (first_tag == NULL)
			first_tag = plan->tags[t];
		sprintf(path, "%s/%s/%s@%.1024s.sql", src, dir, c->name, plan->tags[t]);
		if (is_file(path))
			return path;
	}
	if (first_tag != NULL)
	{
		sprintf(path, "%s/%s/%s@%.1024s.sql", src, dir, c->name, first_tag);
		return path;
	}
	sprintf(path, "%s/%s/%s.sql", src, dir, c->name);
	return path;
}

/*
 * Sqitch: the changes of SRC/sqitch.plan in plan order, deploy/ the up and
 * revert/ the down SQL; "requires" become depends_on.
 */
static void
read_sqitch(const char *src, ImportSet *set)
{
	Plan		plan = read_plan(src);

	for (int i = 0; i < plan.n; i++)
	{
		ImportRev  *r = add_rev(set);
		char	   *revert = sqitch_script(src, "revert", &plan, i);

		r->id = sqitch_id(&plan.changes[i]);
		r->source = sqitch_script(src, "deploy", &plan, i);
		r->message = plan.changes[i].note;
		r->depends_on = sqitch_depends_on(&plan, i);
		r->up = read_source(r->source);
		if (r->up == NULL)
			pg_fatal("could not open file \"%s\": %s", r->source, strerror(ENOENT));
		r->down = read_source(revert);
	}
}

/* ---------------------------------------------------------------- writing */

/* Orders two migrations by their keys (sort_cmp), then by their ids. */
static int
compare_revs(const void *a, const void *b)
{
	const ImportRev *ra = a;
	const ImportRev *rb = b;
	int			c = sort_cmp(ra->key, rb->key);

	return c != 0 ? c : strcmp(ra->id, rb->id);
}

/*
 * Refuses what would not register: an invalid id, two migrations of one id
 * or one version (the tool refuses those too).
 */
static void
check_revs(const ImportSet *set)
{
	for (int i = 0; i < set->n; i++)
	{
		const char *id = set->revs[i].id;

		if (strlen(id) == 0 || strlen(id) > MAXID || strspn(id,
															"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != strlen(id) ||
			id[0] == '.' || id[0] == '-')
		{
			pg_log_error("\"%s\" of \"%s\" is not a valid revision id", id, set->revs[i].source);
			fprintf(stderr, "HINT:  Revision ids have 1 to %d letters A-Z and a-z, digits, \"_\", \".\" and \"-\" (not first); rename the migration first.\n", MAXID);
			exit(1);
		}
		for (int j = 0; j < i; j++)
			if (strcmp(set->revs[j].id, id) == 0 ||
				(set->cmp != NULL && set->cmp(set->revs[j].key, set->revs[i].key) == 0))
				pg_fatal("\"%s\" and \"%s\" have the same version", set->revs[j].source, set->revs[i].source);
	}
}

/* Writes a section's SQL, ending with a line end. */
static void
write_sql(FILE *f, const char *sql)
{
	size_t		len = strlen(sql);

	fputs(sql, f);
	if (len > 0 && sql[len - 1] != '\n')
		fputc('\n', f);
}

/* Writes one migrate file: headers, up, down. */
static void
write_import(const char *path, const ImportRev *r, const char *parent)
{
	FILE	   *f = fopen(path, "wx");

	if (f == NULL)
		pg_fatal("could not create file \"%s\": %s", path, strerror(errno));
	fprintf(f, "-- migrate:revision %s\n-- migrate:parents %s\n", r->id, parent);
	if (r->depends_on != NULL)
		fprintf(f, "-- migrate:depends_on %s\n", r->depends_on);
	if (r->message != NULL && r->message[0] != '\0' && strpbrk(r->message, "\r\n") == NULL)
		fprintf(f, "-- migrate:message %s\n", r->message);
	if (r->nontransactional)
		fprintf(f, "-- migrate:transactional false\n");
	fprintf(f, "-- migrate:up\n");
	write_sql(f, r->up);
	if (r->down != NULL)
	{
		fprintf(f, "-- migrate:down\n");
		write_sql(f, r->down);
	}
	if (fclose(f) != 0)
		pg_fatal("could not write file \"%s\": %s", path, strerror(errno));
}

/*
 * Writes the set into dir as NNNN_<id>.sql, each the child of the one
 * before; refuses before writing anything if one of the files exists.
 */
static void
write_set(const char *dir, ImportSet *set)
{
	char	  **paths = pg_malloc(sizeof(char *) * set->n);
	int			width = 4;
	struct stat st;

	for (int n = set->n; n >= 10000; n /= 10)
		width++;
	if (stat(dir, &st) != 0 && mkdir(dir, 0777) != 0)
		pg_fatal("could not create directory \"%s\": %s", dir, strerror(errno));
	for (int i = 0; i < set->n; i++)
	{
		paths[i] = pg_malloc(strlen(dir) + strlen(set->revs[i].id) + 32);
		sprintf(paths[i], "%s/%0*d_%s.sql", dir, width, i + 1, set->revs[i].id);
		if (stat(paths[i], &st) == 0)
		{
			pg_log_error("file \"%s\" already exists", paths[i]);
			fprintf(stderr, "HINT:  Import into a new or empty directory (-D DIR); nothing was written.\n");
			exit(1);
		}
	}
	for (int i = 0; i < set->n; i++)
	{
		write_import(paths[i], &set->revs[i], i == 0 ? "base" : set->revs[i - 1].id);
		printf("%s\n", paths[i]);
	}
}

/* The tools import reads, and their readers. */
static const struct
{
	const char *name;
	void		(*read) (const char *src, ImportSet *set);
}			importers[] = {
	{"golang-migrate", read_golang_migrate},
	{"dbmate", read_dbmate},
	{"diesel", read_diesel},
	{"flyway", read_flyway},
	{"sqitch", read_sqitch},
};

/* import --from TOOL SRC: reads the tool's migrations, writes migrate files. */
int
cmd_import(const Options *opts)
{
	ImportSet	set = {0};
	int			k = -1;
	struct stat st;

	for (int i = 0; i < (int) (sizeof(importers) / sizeof(importers[0])); i++)
		if (strcmp(opts->from, importers[i].name) == 0)
			k = i;
	if (k < 0)
	{
		pg_log_error("unknown --from \"%s\": golang-migrate, dbmate, diesel, flyway or sqitch", opts->from);
		fprintf(stderr, "Try \"%s --help\" for more information.\n", progname);
		exit(1);
	}
	if (stat(opts->args[0], &st) != 0 || !S_ISDIR(st.st_mode))
		pg_fatal("could not open directory \"%s\": %s", opts->args[0],
				 stat(opts->args[0], &st) != 0 ? strerror(errno) : strerror(ENOTDIR));
	importers[k].read(opts->args[0], &set);
	if (set.n == 0)
		pg_fatal("no %s migrations in \"%s\"", importers[k].name, opts->args[0]);
	check_revs(&set);
	for (int i = 0; i < set.n; i++)
		strip_transaction(set.revs[i].up);
	for (int i = 0; i < set.n; i++)
		if (set.revs[i].down != NULL)
			strip_transaction(set.revs[i].down);
	if (set.cmp != NULL)
	{
		sort_cmp = set.cmp;
		qsort(set.revs, set.n, sizeof(ImportRev), compare_revs);
	}
	write_set(opts->dir, &set);
	return 0;
}
