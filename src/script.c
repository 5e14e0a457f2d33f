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

/* Refuses a malformed migration script; what and detail are already translated. */
pg_attribute_noreturn()
static void
script_error(int line, const char *what, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid migration script at line %d: %s", line, what),
			 detail ? errdetail("%s", detail) : 0,
			 errhint("A migration script has header lines \"-- migrate:revision <id>\" (required), "
					 "\"-- migrate:parents\", \"-- migrate:depends_on\", \"-- migrate:branch_labels\", "
					 "\"-- migrate:message\", \"-- migrate:transactional\", \"-- migrate:lint-ignore\", then \"-- migrate:up\" and optionally \"-- migrate:down\".")));
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

/* Whether s holds only spaces and tabs. */
static bool
is_blank(const char *s, int len)
{
	for (int i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t')
			return false;
	return true;
}

/* Where a migration file's parser is, and what it has read so far. */
typedef enum ScriptSection
{
	IN_HEADER,
	IN_UP,
	IN_DOWN
} ScriptSection;

typedef struct ScriptParse
{
	int			line;			/* of the line being read, 1-based */
	ScriptSection section;
	char	   *id;
	char	   *message;
	ArrayType  *parents;
	ArrayType  *depends;
	ArrayType  *labels;
	bool		seen_parents;
	bool		seen_depends;
	bool		seen_labels;
	bool		seen_message;
	bool		seen_transactional;
	int			transactional;	/* -1 without a "transactional" line */
	List	   *lint_ignore;	/* "RULE reason" of each "lint-ignore" line (lint.c) */
	int			up_start;		/* byte offsets of the sections, -1 if none */
	int			up_end;
	int			down_start;
	int			down_end;
	int			up_line;		/* of "-- migrate:up", 0 if none */
	int			down_line;		/* of "-- migrate:down", 0 if none */
} ScriptParse;

/* Reads a "-- migrate:up" or "-- migrate:down" line; next starts its SQL. */
static void
read_section_marker(ScriptParse *sp, bool up, const char *value, int next)
{
	if (up)
	{
		if (!is_blank(value, strlen(value)))
			script_error(sp->line, _("text after \"-- migrate:up\""), NULL);
		if (sp->up_start >= 0)
			script_error(sp->line, _("a second \"-- migrate:up\" section"), NULL);
		if (sp->section == IN_DOWN)
			script_error(sp->line, _("\"-- migrate:up\" after \"-- migrate:down\""), NULL);
		sp->section = IN_UP;
		sp->up_start = next;
		sp->up_line = sp->line;
		return;
	}
	if (!is_blank(value, strlen(value)))
		script_error(sp->line, _("text after \"-- migrate:down\""), NULL);
	if (sp->down_start >= 0)
		script_error(sp->line, _("a second \"-- migrate:down\" section"), NULL);
	if (sp->up_start < 0)
		script_error(sp->line, _("\"-- migrate:down\" before \"-- migrate:up\""), NULL);
	sp->section = IN_DOWN;
	sp->down_start = next;
	sp->down_line = sp->line;
}

/* Reads a header line "-- migrate:<key> <value>"; each key at most once. */
static void
read_header_line(ScriptParse *sp, const char *keyname, const char *value)
{
	const char *trimmed = value;
	bool	   *seen = NULL;

	if (sp->section != IN_HEADER)
		script_error(sp->line, psprintf(_("header line \"-- migrate:%s\" after \"-- migrate:up\""), keyname),
					 _("Header lines come before the up section; inside SQL, write the words in a comment that does not start the line."));
	while (*trimmed == ' ' || *trimmed == '\t')
		trimmed++;

	if (strcmp(keyname, "revision") == 0)
	{
		if (sp->id != NULL)
			script_error(sp->line, _("a second \"-- migrate:revision\" line"), NULL);
		sp->id = trim_trailing_blanks(pstrdup(trimmed));
		if (*sp->id == '\0')
			script_error(sp->line, _("\"-- migrate:revision\" without an id"), NULL);
		return;
	}
	if (strcmp(keyname, "lint-ignore") == 0)
	{
		/* one line per rule ignored: the key may repeat */
		sp->lint_ignore = lappend(sp->lint_ignore, trim_trailing_blanks(pstrdup(trimmed)));
		return;
	}
	if (strcmp(keyname, "message") == 0)
	{
		seen = &sp->seen_message;
		/* exactly one space separates key and message, which keeps its own spaces */
		sp->message = pstrdup(value[0] == ' ' ? value + 1 : value);
	}
	else if (strcmp(keyname, "parents") == 0)
	{
		seen = &sp->seen_parents;
		sp->parents = split_names(trimmed, "parents", true);
	}
	else if (strcmp(keyname, "depends_on") == 0)
	{
		seen = &sp->seen_depends;
		sp->depends = split_names(trimmed, "depends_on", false);
	}
	else if (strcmp(keyname, "branch_labels") == 0)
	{
		seen = &sp->seen_labels;
		sp->labels = split_names(trimmed, "branch_labels", false);
	}
	else if (strcmp(keyname, "transactional") == 0)
	{
		char	   *word = trim_trailing_blanks(pstrdup(trimmed));

		seen = &sp->seen_transactional;
		if (strcmp(word, "true") != 0 && strcmp(word, "false") != 0)
			script_error(sp->line, psprintf(_("\"-- migrate:transactional\" must be followed by true or false, not \"%s\""), word), NULL);
		sp->transactional = strcmp(word, "true") == 0;
	}
	else
		script_error(sp->line, psprintf(_("unknown key \"%s\""), keyname), NULL);
	if (*seen)
		script_error(sp->line, psprintf(_("a second \"-- migrate:%s\" line"), keyname), NULL);
	*seen = true;
}

/* The "lint-ignore" lines of a script as a text[], or NULL without any. */
static ArrayType *
lint_ignore_array(List *entries)
{
	char	  **elems;
	ListCell   *lc;

	if (entries == NIL)
		return NULL;
	elems = palloc(sizeof(char *) * list_length(entries));
	foreach(lc, entries)
		elems[foreach_current_index(lc)] = lfirst(lc);
	return strings_to_array(elems, list_length(entries));
}

/* Reads a marker line s (len bytes, at pos); next is the line after it. */
static void
read_marker_line(ScriptParse *sp, const char *s, int len, int pos, int next)
{
	const char *key = s + strlen(MARKER_PREFIX);
	int			keylen = 0;
	char	   *value;

	while (key + keylen < s + len && key[keylen] != ' ' && key[keylen] != '\t')
		keylen++;
	value = pnstrdup(key + keylen, s + len - key - keylen);

	/* a section ends where the next marker line starts, less its newline */
	if (sp->section == IN_UP)
		sp->up_end = pos;
	else if (sp->section == IN_DOWN)
		sp->down_end = pos;

	if (keylen == 2 && strncmp(key, "up", 2) == 0)
		read_section_marker(sp, true, value, next);
	else if (keylen == 4 && strncmp(key, "down", 4) == 0)
		read_section_marker(sp, false, value, next);
	else
		read_header_line(sp, pnstrdup(key, keylen), value);
}

/* Refuses a header line that is neither blank nor a comment. */
static void
check_header_text(ScriptParse *sp, const char *s, int len)
{
	const char *t = s;

	while (t < s + len && (*t == ' ' || *t == '\t'))
		t++;
	if (t < s + len && !(t + 1 < s + len && t[0] == '-' && t[1] == '-'))
		script_error(sp->line, _("SQL text before \"-- migrate:up\""), NULL);
}

/* A section's SQL: text[start, end) less its trailing line ends (as add() stores it). */
static char *
section_sql(StringInfo text, int start, int end)
{
	while (end > start && text->data[end - 1] == '\n')
		end--;
	return pnstrdup(text->data + Min(start, text->len), Max(end - start, 0));
}

/*
 * Parses a migration script and registers it through the same path as
 * migrate.add().  Returns the revision id.
 */
static char *
register_script(const char *raw, AuditContext *ac)
{
	StringInfoData text;
	ScriptParse sp = {0};
	int			line_bases[2];
	int		   *markers;
	int			nmarkers;
	int			next_marker = 0;

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
	sp.up_start = sp.up_end = sp.down_start = sp.down_end = -1;
	sp.transactional = -1;

	for (int pos = 0; pos < text.len;)
	{
		const char *s = text.data + pos;
		const char *nl = strchr(s, '\n');
		int			len = nl ? (int) (nl - s) : (int) strlen(s);
		int			next = pos + len + (nl ? 1 : 0);

		CHECK_FOR_INTERRUPTS();
		sp.line++;
		if (next_marker < nmarkers && markers[next_marker] == pos)
		{
			next_marker++;
			read_marker_line(&sp, s, len, pos, next);
		}
		else if (sp.section == IN_HEADER)
			check_header_text(&sp, s, len);
		pos = next;
	}

	if (sp.section == IN_UP)
		sp.up_end = text.len;
	else if (sp.section == IN_DOWN)
		sp.down_end = text.len;
	if (sp.id == NULL)
		script_error(sp.up_line > 0 ? sp.up_line : Max(sp.line, 1), _("no \"-- migrate:revision\" line"), NULL);
	if (sp.up_start < 0)
		script_error(Max(sp.line, 1), _("no \"-- migrate:up\" section"), NULL);

	/* errors in the SQL name the file's lines: each section starts after its marker */
	line_bases[0] = sp.up_line;
	line_bases[1] = sp.down_line;
	return register_revision(sp.id, section_sql(&text, sp.up_start, sp.up_end),
							 sp.down_start >= 0 ? section_sql(&text, sp.down_start, sp.down_end) : NULL,
							 sp.parents, sp.message ? sp.message : "", sp.depends, sp.labels,
							 sp.transactional, line_bases, lint_ignore_array(sp.lint_ignore), ac);
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

/* Appends a "-- migrate:lint-ignore" line per entry of a stored lint_ignore. */
static void
append_lint_ignore(StringInfo buf, Datum value, bool isnull)
{
	char	  **entries;
	int			n;

	if (isnull)
		return;
	entries = array_to_strings(DatumGetArrayTypeP(value), "lint_ignore", &n);
	for (int i = 0; i < n; i++)
		appendStringInfo(buf, MARKER_PREFIX "lint-ignore %s\n", entries[i]);
}

/* Appends a header line "-- migrate:<key> a b c" (an empty parents list is "base"). */
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
	Datum		lint_ignore;
	text	   *result;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("revision must not be null")));
	catalog_connect();
	g = graph_load(true);
	rev = revision_resolve(g, text_to_cstring(PG_GETARG_TEXT_PP(0)));

	args[0] = CStringGetTextDatum(g->revs[rev].id);
	catalog_exec(catalog_has_transactional() ?
				 "SELECT id, parents, depends_on, branch_labels, message, up_sql, down_sql,"
				 " lint_ignore FROM migrate.revision WHERE id = $1" :
				 "SELECT id, parents, depends_on, branch_labels, message, up_sql, down_sql,"
				 " NULL::pg_catalog.text[] FROM migrate.revision WHERE id = $1",
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
	if (!g->revs[rev].transactional)
		appendStringInfoString(&buf, MARKER_PREFIX "transactional false\n");
	lint_ignore = SPI_getbinval(tup, desc, 8, &isnull);
	append_lint_ignore(&buf, lint_ignore, isnull);
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

/* Error context naming the server file add_dir() is reading. */
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

