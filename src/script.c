/*
 * script.c
 *		Migration files (SPEC section 6): add_script, script and add_dir.
 *
 *	-- migrate:revision 0002_email
 *	-- migrate:parents 0001_users
 *	-- migrate:message add email to users
 *	-- migrate:up
 *	ALTER TABLE users ADD email text;
 *	-- migrate:down
 *	ALTER TABLE users DROP email;
 *
 * A marker is a whole line starting with "-- migrate:", and only where the
 * server's scanner reads it as a comment, outside every string, quoted
 * identifier, dollar-quoted body and block comment (sqlscan.c): the same
 * words there are SQL.  CRLF and CR line ends become LF.  A section's SQL is
 * the text between its marker line and the next one, less its trailing line
 * ends: the form add() stores, so script() and add_script() round-trip every
 * revision exactly.
 */
#include "migrate.h"

#include <sys/stat.h>

#include "catalog/pg_authid.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "utils/acl.h"
#include "utils/builtins.h"

#define MARKER_PREFIX "-- migrate:"

/* Refuses a malformed migration script; what and detail are already translated. */
static void
script_error(int line, const char *what, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid migration script at line %d: %s", line, what),
			 detail ? errdetail("%s", detail) : 0,
			 errhint("A migration script has header lines \"-- migrate:revision <id>\" (required), "
					 "\"-- migrate:parents\", \"-- migrate:depends_on\", \"-- migrate:branch_labels\", "
					 "\"-- migrate:message\", then \"-- migrate:up\" and optionally \"-- migrate:down\".")));
}

/*
 * A space-separated list of names as a text[], refused as add() refuses it
 * when it has too many names.
 */
static ArrayType *
split_names(const char *value, const char *listname, bool base_is_empty)
{
	char	   *copy = pstrdup(value);
	char	  **names = palloc(sizeof(char *) * (strlen(value) / 2 + 1));
	int			n = 0;
	char	   *tok;
	char	   *save = NULL;

	for (tok = strtok_r(copy, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save))
	{
		CHECK_FOR_INTERRUPTS();
		if (base_is_empty && strcmp(tok, "base") == 0)
			continue;
		names[n++] = tok;
	}
	check_list_length(listname, n, NULL);
	return strings_to_array(names, n);
}

/* s without its trailing spaces and tabs, in place; linear in its length. */
static char *
trim_trailing_blanks(char *s)
{
	size_t		len = strlen(s);

	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		s[--len] = '\0';
	return s;
}

static bool
is_blank(const char *s, int len)
{
	for (int i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t')
			return false;
	return true;
}

/*
 * Parses a migration script and registers it through the same path as
 * migrate.add().  Returns the revision id.
 */
static char *
register_script(const char *raw, AuditContext *ac)
{
	StringInfoData text;
	int			line = 0;
	int		   *markers;
	int			nmarkers;
	int			next_marker = 0;
	enum
	{
		IN_HEADER, IN_UP, IN_DOWN
	}			section = IN_HEADER;
	char	   *id = NULL;
	char	   *message = NULL;
	ArrayType  *parents = NULL;
	ArrayType  *depends = NULL;
	ArrayType  *labels = NULL;
	bool		seen_parents = false,
				seen_depends = false,
				seen_labels = false,
				seen_message = false;
	int			up_start = -1,
				up_end = -1,
				down_start = -1,
				down_end = -1;
	int			up_line = 0;

	if (raw == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("migration script must not be null")));

	/* a UTF-8 byte-order mark, as some editors write, is not SQL */
	if ((unsigned char) raw[0] == 0xEF && (unsigned char) raw[1] == 0xBB &&
		(unsigned char) raw[2] == 0xBF)
		raw += 3;

	/* the same line ends as add() stores, so a checkout's never change a checksum */
	initStringInfo(&text);
	appendStringInfoString(&text, normalize_line_ends(raw, false));
	markers = sqlscan_marker_lines(text.data, MARKER_PREFIX, &nmarkers);

	for (int pos = 0; pos < text.len;)
	{
		const char *s = text.data + pos;
		const char *nl = strchr(s, '\n');
		int			len = nl ? (int) (nl - s) : (int) strlen(s);
		int			next = pos + len + (nl ? 1 : 0);
		bool		marker;

		CHECK_FOR_INTERRUPTS();
		line++;
		marker = next_marker < nmarkers && markers[next_marker] == pos;
		if (marker)
		{
			const char *key = s + strlen(MARKER_PREFIX);
			int			keylen = 0;
			char	   *value;

			next_marker++;
			while (key + keylen < s + len && key[keylen] != ' ' && key[keylen] != '\t')
				keylen++;
			value = pnstrdup(key + keylen, s + len - key - keylen);

			/* a section ends where the next marker line starts, less its newline */
			if (section == IN_UP)
				up_end = pos;
			else if (section == IN_DOWN)
				down_end = pos;

			if (keylen == 2 && strncmp(key, "up", 2) == 0)
			{
				if (!is_blank(value, strlen(value)))
					script_error(line, _("text after \"-- migrate:up\""), NULL);
				if (up_start >= 0)
					script_error(line, _("a second \"-- migrate:up\" section"), NULL);
				if (section == IN_DOWN)
					script_error(line, _("\"-- migrate:up\" after \"-- migrate:down\""), NULL);
				section = IN_UP;
				up_start = next;
				up_line = line;
			}
			else if (keylen == 4 && strncmp(key, "down", 4) == 0)
			{
				if (!is_blank(value, strlen(value)))
					script_error(line, _("text after \"-- migrate:down\""), NULL);
				if (down_start >= 0)
					script_error(line, _("a second \"-- migrate:down\" section"), NULL);
				if (up_start < 0)
					script_error(line, _("\"-- migrate:down\" before \"-- migrate:up\""), NULL);
				section = IN_DOWN;
				down_start = next;
			}
			else
			{
				char	   *keyname = pnstrdup(key, keylen);
				char	   *trimmed = value;
				bool	   *seen = NULL;

				if (section != IN_HEADER)
					script_error(line, psprintf(_("header line \"-- migrate:%s\" after \"-- migrate:up\""), keyname),
								 _("Header lines come before the up section; inside SQL, write the words in a comment that does not start the line."));
				while (*trimmed == ' ' || *trimmed == '\t')
					trimmed++;

				if (strcmp(keyname, "revision") == 0)
				{
					if (id != NULL)
						script_error(line, _("a second \"-- migrate:revision\" line"), NULL);
					id = trim_trailing_blanks(pstrdup(trimmed));
					if (*id == '\0')
						script_error(line, _("\"-- migrate:revision\" without an id"), NULL);
				}
				else if (strcmp(keyname, "message") == 0)
				{
					seen = &seen_message;
					/* exactly one space separates key and message, which keeps its own spaces */
					message = pstrdup(value[0] == ' ' ? value + 1 : value);
				}
				else if (strcmp(keyname, "parents") == 0)
				{
					seen = &seen_parents;
					parents = split_names(trimmed, "parents", true);
				}
				else if (strcmp(keyname, "depends_on") == 0)
				{
					seen = &seen_depends;
					depends = split_names(trimmed, "depends_on", false);
				}
				else if (strcmp(keyname, "branch_labels") == 0)
				{
					seen = &seen_labels;
					labels = split_names(trimmed, "branch_labels", false);
				}
				else
					script_error(line, psprintf(_("unknown key \"%s\""), keyname), NULL);

				if (seen != NULL)
				{
					if (*seen)
						script_error(line, psprintf(_("a second \"-- migrate:%s\" line"), keyname), NULL);
					*seen = true;
				}
			}
		}
		else if (section == IN_HEADER)
		{
			/* before the up section: blank lines and comments only */
			const char *t = s;

			while (t < s + len && (*t == ' ' || *t == '\t'))
				t++;
			if (t < s + len && !(t + 1 < s + len && t[0] == '-' && t[1] == '-'))
				script_error(line, _("SQL text before \"-- migrate:up\""), NULL);
		}
		pos = next;
	}

	if (section == IN_UP)
		up_end = text.len;
	else if (section == IN_DOWN)
		down_end = text.len;

	if (id == NULL)
		script_error(up_line > 0 ? up_line : Max(line, 1), _("no \"-- migrate:revision\" line"), NULL);
	if (up_start < 0)
		script_error(Max(line, 1), _("no \"-- migrate:up\" section"), NULL);

	{
		char	   *up;
		char	   *down = NULL;

		/* trailing line ends are not part of the SQL (add() drops them too) */
		while (up_end > up_start && text.data[up_end - 1] == '\n')
			up_end--;
		up = pnstrdup(text.data + Min(up_start, text.len), Max(up_end - up_start, 0));
		if (down_start >= 0)
		{
			while (down_end > down_start && text.data[down_end - 1] == '\n')
				down_end--;
			down = pnstrdup(text.data + Min(down_start, text.len), Max(down_end - down_start, 0));
		}
		return register_revision(id, up, down, parents, message ? message : "",
								 depends, labels, ac);
	}
}

PG_FUNCTION_INFO_V1(migrate_add_script);

/* migrate.add_script(script): registers a revision written as a migration file. */
Datum
migrate_add_script(PG_FUNCTION_ARGS)
{
	char	   *script = PG_ARGISNULL(0) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(0));
	MemoryContext fn_cxt = CurrentMemoryContext;
	AuditContext ac;
	char	   *result;

	if (script == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("migration script must not be null")));

	operation_begin("migrate.add_script()", 0);
	audit_begin(&ac, "add", NULL, 0);
	result = MemoryContextStrdup(fn_cxt, register_script(script, &ac));
	operation_end(0);
	PG_RETURN_TEXT_P(cstring_to_text(result));
}

static void
append_names(StringInfo buf, const char *key, ArrayType *arr, bool empty_is_base)
{
	int			n;
	char	  **names = array_to_strings(arr, key, &n);

	if (n == 0 && !empty_is_base)
		return;
	appendStringInfo(buf, MARKER_PREFIX "%s", key);
	if (n == 0)
		appendStringInfoString(buf, " base");
	for (int i = 0; i < n; i++)
	{
		CHECK_FOR_INTERRUPTS();
		appendStringInfo(buf, " %s", names[i]);
	}
	appendStringInfoChar(buf, '\n');
}

PG_FUNCTION_INFO_V1(migrate_script);

/* migrate.script(revision): the revision as a migration file. */
Datum
migrate_script(PG_FUNCTION_ARGS)
{
	MemoryContext fn_cxt = CurrentMemoryContext;
	Graph	   *g;
	int			rev;
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1];
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull;
	StringInfoData buf;
	char	   *message;
	Datum		down;
	text	   *result;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("revision must not be null")));
	catalog_connect();
	g = graph_load(true);
	rev = revision_resolve(g, text_to_cstring(PG_GETARG_TEXT_PP(0)));

	args[0] = CStringGetTextDatum(g->revs[rev].id);
	catalog_exec("SELECT id, parents, depends_on, branch_labels, message, up_sql, down_sql"
				 " FROM migrate.revision WHERE id = $1",
				 1, argtypes, args, NULL, true, 1);
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;

	initStringInfo(&buf);
	appendStringInfo(&buf, MARKER_PREFIX "revision %s\n", g->revs[rev].id);
	append_names(&buf, "parents", DatumGetArrayTypeP(SPI_getbinval(tup, desc, 2, &isnull)), true);
	append_names(&buf, "depends_on", DatumGetArrayTypeP(SPI_getbinval(tup, desc, 3, &isnull)), false);
	append_names(&buf, "branch_labels", DatumGetArrayTypeP(SPI_getbinval(tup, desc, 4, &isnull)), false);
	message = TextDatumGetCString(SPI_getbinval(tup, desc, 5, &isnull));
	if (message[0] != '\0')
		appendStringInfo(&buf, MARKER_PREFIX "message %s\n", message);
	appendStringInfo(&buf, MARKER_PREFIX "up\n%s\n",
					 TextDatumGetCString(SPI_getbinval(tup, desc, 6, &isnull)));
	down = SPI_getbinval(tup, desc, 7, &isnull);
	if (!isnull)
		appendStringInfo(&buf, MARKER_PREFIX "down\n%s\n", TextDatumGetCString(down));

	MemoryContextSwitchTo(fn_cxt);
	result = cstring_to_text_with_len(buf.data, buf.len);
	SPI_finish();
	PG_RETURN_TEXT_P(result);
}

/* Orders file names in byte order, as add_dir() registers them. */
static int
compare_names(const ListCell *a, const ListCell *b)
{
	return strcmp(lfirst(a), lfirst(b));
}

/* A server file's whole content, checked to be valid in the database encoding. */
static char *
read_server_file(const char *path)
{
	FILE	   *f = AllocateFile(path, PG_BINARY_R);
	StringInfoData buf;
	char		chunk[8192];
	size_t		n;

	if (f == NULL)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open file \"%s\" for reading: %m", path)));
	initStringInfo(&buf);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		appendBinaryStringInfo(&buf, chunk, n);
	if (ferror(f))
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not read file \"%s\": %m", path)));
	FreeFile(f);
	if (memchr(buf.data, '\0', buf.len) != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_CHARACTER_NOT_IN_REPERTOIRE),
				 errmsg("file \"%s\" contains a zero byte", path)));
	(void) pg_verifymbstr(buf.data, buf.len, false);
	return buf.data;
}

static void
file_error_context(void *arg)
{
	errcontext("migration file \"%s\"", (const char *) arg);
}

PG_FUNCTION_INFO_V1(migrate_add_dir);

/* migrate.add_dir(path): every *.sql file of a server directory, by name. */
Datum
migrate_add_dir(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo;
	char	   *path;
	DIR		   *dir;
	struct dirent *de;
	List	   *names = NIL;
	ListCell   *lc;
	AuditContext ac;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("directory must not be null")));
	if (!has_privs_of_role(GetUserId(), ROLE_PG_READ_SERVER_FILES))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to read a server directory"),
				 errdetail("Only roles with privileges of the \"pg_read_server_files\" role may use migrate.add_dir()."),
				 errhint("Register the files from the client with migrate.add_script(), as shown in the README.")));
	path = text_to_cstring(PG_GETARG_TEXT_PP(0));
	canonicalize_path(path);

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	operation_begin("migrate.add_dir()", 0);

	dir = AllocateDir(path);
	while ((de = ReadDir(dir, path)) != NULL)
	{
		size_t		len = strlen(de->d_name);
		char	   *full;
		struct stat st;

		if (len < 5 || strcmp(de->d_name + len - 4, ".sql") != 0)
			continue;
		full = psprintf("%s/%s", path, de->d_name);
		if (stat(full, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		names = lappend(names, pstrdup(de->d_name));
	}
	FreeDir(dir);
	list_sort(names, compare_names);

	audit_begin(&ac, "add", NULL, 0);
	foreach(lc, names)
	{
		char	   *full = psprintf("%s/%s", path, (char *) lfirst(lc));
		ErrorContextCallback callback;
		char	   *id;
		Datum		value;
		bool		isnull = false;

		callback.callback = file_error_context;
		callback.arg = full;
		callback.previous = error_context_stack;
		error_context_stack = &callback;

		id = register_script(read_server_file(full), &ac);

		error_context_stack = callback.previous;
		value = CStringGetTextDatum(id);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, &value, &isnull);
	}
	operation_end(0);
	return (Datum) 0;
}

/*
 * CRLF and lone CR become LF; with trim, trailing line ends go too.  add()
 * stores SQL this way, and add_script() reads files this way, so that the
 * same revision has the same checksum however it was registered, and
 * script() can write every revision as a file that reads back the same.
 */
char *
normalize_line_ends(const char *sql, bool trim)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (const char *p = sql; *p; p++)
	{
		if (p[0] == '\r' || p[0] == '\n')
			CHECK_FOR_INTERRUPTS();
		if (p[0] == '\r')
		{
			appendStringInfoChar(&buf, '\n');
			if (p[1] == '\n')
				p++;
		}
		else
			appendStringInfoChar(&buf, *p);
	}
	while (trim && buf.len > 0 && buf.data[buf.len - 1] == '\n')
		buf.data[--buf.len] = '\0';
	return buf.data;
}

/*
 * Refuses SQL with a line that a migration file would read as a marker
 * ("-- migrate:..." at the start of a line, outside strings and comments):
 * script() could not write the revision as a file.
 */
void
check_no_marker_lines(const char *revision, const char *section, const char *sql)
{
	int			nmarkers;
	int		   *markers = sqlscan_marker_lines(sql, MARKER_PREFIX, &nmarkers);

	if (nmarkers > 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("line %d of the %s SQL of revision \"%s\" reads as a migration file marker",
						line_of_offset(sql, markers[0]), section, revision),
				 errdetail("A line starting with \"%s\" outside strings and comments starts a section of a migration file.",
						   MARKER_PREFIX),
				 errhint("Indent the comment, or reword it.")));
}
