/*
 * sqlcheck.c
 *		Up and down SQL are checked by the server's raw parser when a revision
 *		is added, so that a syntax error or a statement that cannot run in a
 *		transaction block is refused then, naming the revision, and not found
 *		half-way through a deploy.
 */
#include "migrate.h"

#include "mb/pg_wchar.h"
#include "nodes/parsenodes.h"
#include "parser/parser.h"
#include "tcop/utility.h"
#include "utils/guc.h"
#include "utils/memutils.h"

typedef struct SqlCheckContext
{
	const char *revision;
	const char *section;
	const char *sql;
	int			location;		/* byte offset of the statement checked, or -1 */
	int			line_base;		/* lines of its file before the SQL, or -1 */
} SqlCheckContext;

/*
 * The context line of an error at a line of a revision's SQL: the line of
 * its migration file when it came from one (line_base >= 0: the lines before
 * its section's SQL), else the line of the SQL.  For ereport()'s arguments.
 */
int
errcontext_sql_line(const char *section, const char *revision, int line, int line_base)
{
	if (line_base >= 0)
		return errcontext("%s SQL of revision \"%s\", line %d of its migration file",
						  section, revision, line_base + line);
	return errcontext("%s SQL of revision \"%s\", line %d", section, revision, line);
}

/* 1-based line of a byte offset into sql. */
int
line_of_offset(const char *sql, int offset)
{
	int			line = 1;

	for (int i = 0; i < offset && sql[i] != '\0'; i++)
		if (sql[i] == '\n')
			line++;
	return line;
}

/* Byte offset of a 1-based character position (an error cursor) into sql. */
static int
offset_of_cursor(const char *sql, int cursorpos)
{
	int			offset = 0;

	for (int chars = 1; chars < cursorpos && sql[offset] != '\0'; chars++)
		offset += pg_mblen(sql + offset);
	return offset;
}

/* 1-based line of a 1-based character position (an error cursor) into sql. */
static int
line_of_cursor(const char *sql, int cursorpos)
{
	return line_of_offset(sql, offset_of_cursor(sql, cursorpos));
}

/* The first statements of a list whose first tokens are still to be found. */
typedef struct StatementStarts
{
	List	   *stmts;
	int			next;
	int		   *starts;
} StatementStarts;

/* A token visitor: the token is the first of the statements that start before it. */
static bool
note_statement_start(int start, int end, void *arg)
{
	StatementStarts *ss = arg;

	(void) end;
	while (ss->next < list_length(ss->stmts) &&
		   list_nth_node(RawStmt, ss->stmts, ss->next)->stmt_location <= start)
		ss->starts[ss->next++] = start;
	return ss->next < list_length(ss->stmts);
}

/*
 * The byte offset of each statement's first token.  A statement's location
 * is just after the ";" that ends the one before, where whitespace and
 * comments, block comments included, may come before its first word.
 */
static int *
statement_starts(const char *sql, List *stmts)
{
	StatementStarts ss = {stmts, 0, palloc(sizeof(int) * Max(list_length(stmts), 1))};

	for (int i = 0; i < list_length(stmts); i++)
		ss.starts[i] = list_nth_node(RawStmt, stmts, i)->stmt_location;
	if (stmts != NIL)
		(void) sqlscan_tokens(sql, note_statement_start, &ss);
	return ss.starts;
}

/*
 * The raw parse trees of sql as the server reads it with
 * standard_conforming_strings on, whatever the session says.
 */
static List *
parse_with_standard_strings(const char *sql)
{
	int			nestlevel = NewGUCNestLevel();
	List	   *volatile stmts = NIL;

	(void) set_config_option("standard_conforming_strings", "on",
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	PG_TRY();
	{
		stmts = raw_parser(sql, RAW_PARSE_DEFAULT);
	}
	PG_FINALLY();
	{
		AtEOXact_GUC(false, nestlevel);
	}
	PG_END_TRY();
	return stmts;
}

/*
 * A token visitor: stops at the first plain '...' string (or N'...') that
 * holds a backslash right before a quote, noting where it starts.
 */
static bool
find_backslash_quote(int start, int end, void *arg)
{
	const char *sql = ((SqlCheckContext *) arg)->sql;
	int			quote = start;

	if (sql[quote] == 'N' || sql[quote] == 'n')
		quote++;
	if (sql[quote] != '\'')
		return true;			/* not a plain string: E'', U&'', B'', X'', $$ */
	for (int i = quote + 1; i + 1 < end; i++)
		if (sql[i] == '\\' && sql[i + 1] == '\'')
		{
			((SqlCheckContext *) arg)->location = start;
			return false;
		}
	return true;
}

/*
 * Refuses SQL that reads differently when standard_conforming_strings is
 * off.  That setting changes one thing only: in a plain '...' string a
 * backslash escapes the next character, so a backslash before a quote ends
 * the string with the setting on and escapes the quote with it off.  psql
 * follows the server's setting when it reads an offline script, so a
 * revision that turned it off could make psql read the rest of its text as
 * psql commands (such as \! for a shell).  Without a backslash before a
 * quote in a plain string, every token reads the same either way.
 */
static void
check_reads_the_same_without_standard_strings(SqlCheckContext *cxt)
{
	cxt->location = -1;
	(void) sqlscan_tokens(cxt->sql, find_backslash_quote, cxt);
	if (cxt->location < 0)
		return;
	ereport(ERROR,
			(errcode(ERRCODE_SYNTAX_ERROR),
			 errmsg("SQL reads differently when standard_conforming_strings is off"),
			 errdetail("A backslash before a quote in a '...' string ends the string when standard_conforming_strings is on, "
					   "but escapes the quote when it is off, so psql could read the rest of an offline script as psql commands."),
			 errhint("Write such a string as E'...' with the backslash doubled, or in dollar quotes.")));
}

/* The role-changing statements, refused at add: a revision runs as its caller. */
static const char *
role_change(Node *stmt)
{
	VariableSetStmt *set;

	if (!IsA(stmt, VariableSetStmt))
		return NULL;
	set = (VariableSetStmt *) stmt;
	if (set->name == NULL)
		return NULL;
	if (strcmp(set->name, "role") == 0)
		return set->kind == VAR_RESET ? "RESET ROLE" : "SET ROLE";
	if (strcmp(set->name, "session_authorization") == 0)
		return set->kind == VAR_RESET ? "RESET SESSION AUTHORIZATION" : "SET SESSION AUTHORIZATION";
	return NULL;
}

/* Whether a statement changes standard_conforming_strings. */
static bool
sets_standard_strings(Node *stmt)
{
	return IsA(stmt, VariableSetStmt) && ((VariableSetStmt *) stmt)->name != NULL &&
		strcmp(((VariableSetStmt *) stmt)->name, "standard_conforming_strings") == 0;
}

/* Error context naming the section, revision and line being checked. */
static void
sqlcheck_error_context(void *arg)
{
	SqlCheckContext *cxt = arg;

	if (cxt->location >= 0)
		errcontext_sql_line(cxt->section, cxt->revision, line_of_offset(cxt->sql, cxt->location),
							cxt->line_base);
	else
		errcontext("%s SQL of revision \"%s\"", cxt->section, cxt->revision);
}

/* Raises the parser's error again, with the revision and line as context. */
static void
rethrow_parse_error(SqlCheckContext *cxt, MemoryContext oldcxt)
{
	ErrorData  *edata;
	int			line;

	MemoryContextSwitchTo(oldcxt);
	edata = CopyErrorData();
	FlushErrorState();
	line = edata->cursorpos > 0 ? line_of_cursor(cxt->sql, edata->cursorpos) : 0;

	cxt->location = -1;
	ereport(ERROR,
			(errcode(edata->sqlerrcode),
			 errmsg_internal("%s", edata->message),
			 edata->detail ? errdetail_internal("%s", edata->detail) : 0,
			 edata->hint ? errhint("%s", edata->hint) : 0,
			 /* errcontext() is a comma expression: parenthesized in the choice */
			 line > 0 ?
			 errcontext_sql_line(cxt->section, cxt->revision, line, cxt->line_base) :
			 (errcontext("%s SQL of revision \"%s\"", cxt->section, cxt->revision))));
}

/*
 * Checks a section's SQL at add: the parser, then what a revision may not
 * run.  Notes in *facts the first statement that must run outside a
 * transaction block and the first SET or RESET, which register.c weighs
 * against the revision's transactional mark.
 */
void
sqlcheck_validate(const char *revision, const char *section, const char *sql,
				  int line_base, SqlFacts *facts)
{
	SqlCheckContext cxt = {revision, section, sql, -1, line_base};
	MemoryContext oldcxt = CurrentMemoryContext;
	MemoryContext parsecxt;
	ErrorContextCallback callback;
	List	   *stmts = NIL;
	List	   *slotless = NIL;
	int		   *starts;
	ListCell   *lc;

	/* a huge revision makes a huge parse tree: free it as soon as it is checked */
	parsecxt = AllocSetContextCreate(CurrentMemoryContext, "migrate sql check",
									 ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(parsecxt);
	PG_TRY();
	{
		stmts = parse_with_standard_strings(sql);
	}
	PG_CATCH();
	{
		rethrow_parse_error(&cxt, oldcxt);
	}
	PG_END_TRY();

	callback.callback = sqlcheck_error_context;
	callback.arg = &cxt;
	callback.previous = error_context_stack;
	error_context_stack = &callback;

	starts = statement_starts(sql, stmts);
	check_reads_the_same_without_standard_strings(&cxt);

	foreach(lc, stmts)
	{
		RawStmt    *raw = lfirst_node(RawStmt, lc);
		const char *what;
		const char *hint;

		cxt.location = starts[foreach_current_index(lc)];
		what = role_change(raw->stmt);
		if (what != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("%s cannot run in a revision", what),
					 errdetail("A revision's SQL runs as the role that calls migrate, and may not change it."),
					 errhint("Grant the caller what the revision needs, or have the role it needs run it.")));
		if (IsA(raw->stmt, PrepareStmt))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("PREPARE cannot run in a revision"),
					 errdetail("A prepared statement outlives the transaction, in the session of whoever runs the revision."),
					 errhint("Run the statement itself, or use a function.")));
		if (sets_standard_strings(raw->stmt))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("a revision cannot change standard_conforming_strings"),
					 errdetail("Revision SQL is always parsed, checked and run with standard_conforming_strings on."),
					 errhint("Write backslash escapes in E'...' strings.")));
		what = outside_transaction_only(raw->stmt, &slotless, &hint);
		if (what != NULL && IsA(raw->stmt, TransactionStmt))
			ereport(ERROR,
					(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
					 errmsg("%s cannot run inside a transaction block", what),
					 errdetail("A revision's SQL always runs inside a transaction."),
					 errhint("Remove it: migrate decides where a revision's transactions begin and end.")));
		if (what != NULL && facts->top_level == NULL)
		{
			facts->top_level = what;
			facts->top_level_line = line_of_offset(sql, cxt.location);
			facts->top_level_hint = hint;
		}
		if (IsA(raw->stmt, VariableSetStmt) && facts->setting == NULL)
		{
			facts->setting = ((VariableSetStmt *) raw->stmt)->kind == VAR_RESET ||
				((VariableSetStmt *) raw->stmt)->kind == VAR_RESET_ALL ? "RESET" : "SET";
			facts->setting_line = line_of_offset(sql, cxt.location);
		}
		if (IsA(raw->stmt, CopyStmt) && ((CopyStmt *) raw->stmt)->filename == NULL &&
			!((CopyStmt *) raw->stmt)->is_program)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("COPY from or to the client cannot run in a revision"),
					 errdetail("A revision's SQL runs in the server, where there is no client to copy from."),
					 errhint("Use INSERT statements, or COPY from a server file.")));
	}

	error_context_stack = callback.previous;
	MemoryContextSwitchTo(oldcxt);
	MemoryContextDelete(parsecxt);
}

/*
 * Splits SQL into its statements, each with its 1-based first line, so that
 * a revision's statements run one by one and an error names the statement
 * that failed rather than quoting the whole (possibly huge) revision.
 */
SqlStatement *
sql_statements(const char *sql, int *count)
{
	List	   *stmts = parse_with_standard_strings(sql);
	int		   *starts = statement_starts(sql, stmts);
	SqlStatement *result = palloc(sizeof(SqlStatement) * Max(list_length(stmts), 1));
	int			line = 1;
	int			scanned = 0;
	List	   *slotless = NIL;

	*count = 0;
	for (int i = 0; i < list_length(stmts); i++)
	{
		RawStmt    *raw = list_nth_node(RawStmt, stmts, i);
		const char *hint;
		int			start = starts[i];
		int			len = raw->stmt_len > 0 ?
			raw->stmt_len - (start - raw->stmt_location) : (int) strlen(sql + start);

		/* count lines incrementally: the statements come in order */
		for (; scanned < start; scanned++)
			if (sql[scanned] == '\n')
				line++;
		result[*count].sql = pnstrdup(sql + start, len);
		result[*count].line = line;
		result[*count].top_level = outside_transaction_only(raw->stmt, &slotless, &hint) != NULL;
		result[*count].concurrent_index = IsA(raw->stmt, IndexStmt) &&
			((IndexStmt *) raw->stmt)->concurrent && ((IndexStmt *) raw->stmt)->idxname ?
			(IndexStmt *) raw->stmt : NULL;
		result[*count].stmt = raw->stmt;
		(*count)++;
	}
	return result;
}

/*
 * The SQL with every statement starting on a line of its own (a line end
 * inserted after a statement's ";" where no line end comes before the next
 * statement's first token).  psql takes up a change of
 * standard_conforming_strings from the next line it reads; with statements
 * on their own lines that is always a statement boundary, which reads the
 * same either way (see check_reads_the_same_without_standard_strings).
 */
char *
sql_statements_on_own_lines(const char *sql)
{
	List	   *stmts = parse_with_standard_strings(sql);
	int		   *starts = statement_starts(sql, stmts);
	StringInfoData buf;
	int			copied = 0;

	initStringInfo(&buf);
	for (int i = 0; i + 1 < list_length(stmts); i++)
	{
		RawStmt    *raw = list_nth_node(RawStmt, stmts, i);
		int			semicolon = raw->stmt_location + raw->stmt_len;
		int			next = starts[i + 1];

		if (memchr(sql + semicolon, '\n', next - semicolon) != NULL)
			continue;
		appendBinaryStringInfo(&buf, sql + copied, semicolon + 1 - copied);
		appendStringInfoChar(&buf, '\n');
		copied = semicolon + 1;
	}
	appendStringInfoString(&buf, sql + copied);
	return buf.data;
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
