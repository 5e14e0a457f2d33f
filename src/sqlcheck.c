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
#include "utils/memutils.h"

typedef struct SqlCheckContext
{
	const char *revision;
	const char *section;
	const char *sql;
	int			location;		/* byte offset of the statement checked, or -1 */
} SqlCheckContext;

/* 1-based line of a byte offset into sql. */
static int
line_of_offset(const char *sql, int offset)
{
	int			line = 1;

	for (int i = 0; i < offset && sql[i] != '\0'; i++)
		if (sql[i] == '\n')
			line++;
	return line;
}

/* 1-based line of a 1-based character position (an error cursor) into sql. */
static int
line_of_cursor(const char *sql, int cursorpos)
{
	int			offset = 0;

	for (int chars = 1; chars < cursorpos && sql[offset] != '\0'; chars++)
		offset += pg_mblen(sql + offset);
	return line_of_offset(sql, offset);
}

/* A statement's location starts after the previous ";": skip blanks and comments. */
static int
skip_blanks(const char *sql, int offset)
{
	for (;;)
	{
		while (sql[offset] == ' ' || sql[offset] == '\t' || sql[offset] == '\n' || sql[offset] == '\r')
			offset++;
		if (sql[offset] != '-' || sql[offset + 1] != '-')
			return offset;
		while (sql[offset] != '\0' && sql[offset] != '\n')
			offset++;
	}
}

static void
sqlcheck_error_context(void *arg)
{
	SqlCheckContext *cxt = arg;

	if (cxt->location >= 0)
		errcontext("%s SQL of revision \"%s\", line %d",
				   cxt->section, cxt->revision, line_of_offset(cxt->sql, cxt->location));
	else
		errcontext("%s SQL of revision \"%s\"", cxt->section, cxt->revision);
}

static bool
has_option(List *options, const char *name)
{
	ListCell   *lc;

	foreach(lc, options)
	{
		DefElem    *opt = lfirst_node(DefElem, lc);

		if (strcmp(opt->defname, name) == 0)
			return true;
	}
	return false;
}

/* The command tag of a statement that cannot run in a transaction block, or NULL. */
static const char *
outside_transaction_only(Node *stmt)
{
	switch (nodeTag(stmt))
	{
		case T_TransactionStmt:
			switch (((TransactionStmt *) stmt)->kind)
			{
				case TRANS_STMT_BEGIN:
					return "BEGIN";
				case TRANS_STMT_START:
					return "START TRANSACTION";
				case TRANS_STMT_COMMIT:
					return "COMMIT";
				case TRANS_STMT_ROLLBACK:
					return "ROLLBACK";
				case TRANS_STMT_SAVEPOINT:
					return "SAVEPOINT";
				case TRANS_STMT_RELEASE:
					return "RELEASE SAVEPOINT";
				case TRANS_STMT_ROLLBACK_TO:
					return "ROLLBACK TO SAVEPOINT";
				case TRANS_STMT_PREPARE:
					return "PREPARE TRANSACTION";
				case TRANS_STMT_COMMIT_PREPARED:
					return "COMMIT PREPARED";
				case TRANS_STMT_ROLLBACK_PREPARED:
					return "ROLLBACK PREPARED";
			}
			return "transaction control";
		case T_VacuumStmt:
			return ((VacuumStmt *) stmt)->is_vacuumcmd ? "VACUUM" : NULL;
		case T_CreatedbStmt:
			return "CREATE DATABASE";
		case T_DropdbStmt:
			return "DROP DATABASE";
		case T_CreateTableSpaceStmt:
			return "CREATE TABLESPACE";
		case T_DropTableSpaceStmt:
			return "DROP TABLESPACE";
		case T_AlterSystemStmt:
			return "ALTER SYSTEM";
		case T_IndexStmt:
			return ((IndexStmt *) stmt)->concurrent ? "CREATE INDEX CONCURRENTLY" : NULL;
		case T_DropStmt:
			return ((DropStmt *) stmt)->concurrent ? "DROP INDEX CONCURRENTLY" : NULL;
		case T_ReindexStmt:
			{
				ReindexStmt *r = (ReindexStmt *) stmt;

				if (has_option(r->params, "concurrently"))
					return "REINDEX CONCURRENTLY";
				if (r->kind == REINDEX_OBJECT_SYSTEM || r->kind == REINDEX_OBJECT_DATABASE)
					return "REINDEX DATABASE";
				return NULL;
			}
		case T_ClusterStmt:
			return ((ClusterStmt *) stmt)->relation == NULL ? "CLUSTER without a table" : NULL;
		case T_DiscardStmt:
			return ((DiscardStmt *) stmt)->target == DISCARD_ALL ? "DISCARD ALL" : NULL;
		case T_AlterTableStmt:
			{
				ListCell   *lc;

				foreach(lc, ((AlterTableStmt *) stmt)->cmds)
				{
					AlterTableCmd *cmd = lfirst_node(AlterTableCmd, lc);

					if (cmd->subtype == AT_DetachPartition &&
						((PartitionCmd *) cmd->def)->concurrent)
						return "ALTER TABLE ... DETACH PARTITION CONCURRENTLY";
				}
				return NULL;
			}
		default:
			return NULL;
	}
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
			 errmsg("%s", edata->message),
			 edata->detail ? errdetail("%s", edata->detail) : 0,
			 edata->hint ? errhint("%s", edata->hint) : 0,
			 errcontext("%s SQL of revision \"%s\"%s", cxt->section, cxt->revision,
						line > 0 ? psprintf(", line %d", line) : "")));
}

void
sqlcheck_validate(const char *revision, const char *section, const char *sql)
{
	SqlCheckContext cxt = {revision, section, sql, -1};
	MemoryContext oldcxt = CurrentMemoryContext;
	MemoryContext parsecxt;
	ErrorContextCallback callback;
	List	   *stmts = NIL;
	ListCell   *lc;

	/* a huge revision makes a huge parse tree: free it as soon as it is checked */
	parsecxt = AllocSetContextCreate(CurrentMemoryContext, "migrate sql check",
									 ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(parsecxt);
	PG_TRY();
	{
		stmts = raw_parser(sql, RAW_PARSE_DEFAULT);
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

	foreach(lc, stmts)
	{
		RawStmt    *raw = lfirst_node(RawStmt, lc);
		const char *what;

		cxt.location = skip_blanks(sql, raw->stmt_location);
		what = outside_transaction_only(raw->stmt);
		if (what != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
					 errmsg("%s cannot run inside a transaction block", what),
					 errdetail("migrate runs each revision's SQL inside a transaction."),
					 errhint("Run such a statement outside migrate, or use its transactional form.")));
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
	List	   *stmts = raw_parser(sql, RAW_PARSE_DEFAULT);
	SqlStatement *result = palloc(sizeof(SqlStatement) * Max(list_length(stmts), 1));
	ListCell   *lc;
	int			line = 1;
	int			scanned = 0;

	*count = 0;
	foreach(lc, stmts)
	{
		RawStmt    *raw = lfirst_node(RawStmt, lc);
		int			start = skip_blanks(sql, raw->stmt_location);
		int			len = raw->stmt_len > 0 ?
			raw->stmt_len - (start - raw->stmt_location) : (int) strlen(sql + start);

		/* count lines incrementally: the statements come in order */
		for (; scanned < start; scanned++)
			if (sql[scanned] == '\n')
				line++;
		result[*count].sql = pnstrdup(sql + start, len);
		result[*count].line = line;
		(*count)++;
	}
	return result;
}
