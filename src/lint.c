/*
 * lint.c
 *		Lint of a revision's SQL against the live catalog: the statements that
 *		lock or rewrite a table that already holds rows, and the changes that
 *		break the applications using it.
 *
 * The rules follow squawk's; they read the server's raw parse trees (never
 * the text), and the catalog for what a file alone cannot tell: whether a
 * relation exists and how big it is (pg_class.reltuples and relpages, the
 * current size of its main fork when its lock is free), a column's type and
 * the casts between types (pg_cast), the validated CHECK constraints and the
 * indexes of a table.  Nothing waits for a lock: relations are looked up
 * with NoLock, and a relation's size is read only when its ACCESS SHARE lock
 * is granted at once.  A relation created earlier in the same SQL is empty
 * when the statement runs, so the rules graded by size say nothing about it.
 *
 * Raw trees are not transformed: a default expression is transformed (in a
 * subtransaction, an error meaning "unknown") only to decide its volatility;
 * types are looked up by name, and a relation, type or function that an
 * earlier revision not yet applied creates is unknown to the catalog, so
 * nothing is reported about it.
 */
#include "migrate.h"

#include <limits.h>
#include <math.h>

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_constraint.h"
#include "catalog/pg_index.h"
#include "catalog/pg_attribute.h"
#include "commands/defrem.h"
#include "mb/pg_wchar.h"
#include "executor/spi.h"
#include "nodes/makefuncs.h"
#include "optimizer/optimizer.h"
#include "parser/parse_coerce.h"
#include "parser/parse_expr.h"
#include "parser/parse_node.h"
#include "parser/parse_type.h"
#include "parser/parser.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/resowner.h"
#include "utils/syscache.h"

/* migrate.lint: what add() does with the findings */
int			migrate_lint_mode = LINT_WARN;
/* below migrate.lint_warn_rows a finding is a notice; from lint_error_rows an error */
static int	lint_warn_rows = 10000;
static int	lint_error_rows = 1000000;

/* The rules, by name: a lint-ignore names one of them. */
static const char *const lint_rules[] = {
	"require-concurrent-index-creation", "adding-field-with-volatile-default",
	"changing-column-type", "setting-not-nullable-field", "adding-foreign-key-constraint",
	"constraint-missing-not-valid", "constraint-without-using-index", "ban-vacuum-full",
	"ban-cluster", "ban-drop-table", "ban-drop-column", "renaming-table", "renaming-column",
	"require-lock-timeout", "foreign-key-without-index", NULL
};

static const struct config_enum_entry lint_mode_options[] = {
	{"off", LINT_OFF, false},
	{"warn", LINT_WARN, false},
	{"error", LINT_ERROR, false},
	{NULL, 0, false}
};

/* A relation a statement touches, as the catalog and the SQL before it tell. */
typedef struct LintRel
{
	RangeVar   *rv;
	Oid			oid;			/* InvalidOid: not in the catalog */
	bool		created;		/* created earlier in the same SQL: empty */
	double		rows;			/* estimated rows, -1 unknown */
	int64		size;			/* bytes, -1 unknown */
} LintRel;

/* An index that the SQL creates, anywhere in it: its table and leading columns. */
typedef struct LintIndex
{
	RangeVar   *rv;
	List	   *columns;		/* String names; NULL entries for expressions */
} LintIndex;

/* A CHECK (col IS NOT NULL) constraint that the SQL adds. */
typedef struct LintCheck
{
	RangeVar   *rv;
	char	   *conname;		/* or NULL */
	char	   *column;
	bool		validated;
} LintCheck;

/* The state of one lint: what the SQL did so far, and the findings. */
typedef struct LintState
{
	List	   *created;		/* RangeVars created so far */
	List	   *indexes;		/* LintIndex: every index the SQL creates */
	List	   *checks;			/* LintCheck: NOT NULL checks added so far */
	bool		lock_timeout;	/* a SET lock_timeout to a nonzero value is in force */
	bool		timeout_reported;
	const char *sql;			/* the SQL linted */
	int			index;			/* of the statement being linted, from 0 */
	SqlStatement *positions;	/* every statement's line and text, once needed */
	bool		notices;		/* false: findings of severity notice are not kept */
	List	   *findings;		/* LintFinding */
} LintState;

/*
 * Defines migrate.lint, migrate.lint_warn_rows and migrate.lint_error_rows.
 */
void
lint_init(void)
{
	DefineCustomEnumVariable("migrate.lint",
							 "What migrate.add() does with the lint findings of a revision.",
							 "off: nothing; warn: a WARNING per finding of severity warning or error; "
							 "error: as warn, and a finding of severity error refuses the revision.",
							 &migrate_lint_mode, LINT_WARN, lint_mode_options,
							 PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("migrate.lint_warn_rows",
							"Estimated rows from which a lint finding on a table is a warning.",
							"Below it the finding is a notice.",
							&lint_warn_rows, 10000, 0, INT_MAX,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("migrate.lint_error_rows",
							"Estimated rows from which a lint finding on a table is an error.",
							NULL,
							&lint_error_rows, 1000000, 0, INT_MAX,
							PGC_USERSET, 0, NULL, NULL, NULL);
}

/* Whether two RangeVars name the same relation, as far as their names tell. */
static bool
same_relation(const RangeVar *a, const RangeVar *b)
{
	if (a == NULL || b == NULL || strcmp(a->relname, b->relname) != 0)
		return false;
	return a->schemaname == NULL || b->schemaname == NULL ||
		strcmp(a->schemaname, b->schemaname) == 0;
}

/* Whether the SQL created the relation before the statement being linted. */
static bool
created_earlier(LintState *st, const RangeVar *rv)
{
	ListCell   *lc;

	foreach(lc, st->created)
		if (same_relation(lfirst(lc), rv))
			return true;
	return false;
}

/*
 * The estimated rows and size of a relation with storage: pg_class's
 * density times the current number of pages, as the planner estimates it,
 * when its ACCESS SHARE lock is granted at once; else pg_class's figures.
 */
static void
relation_size(LintRel *rel, Form_pg_class form)
{
	BlockNumber pages = form->relpages;
	bool		has_storage = form->relkind == RELKIND_RELATION ||
		form->relkind == RELKIND_MATVIEW || form->relkind == RELKIND_TOASTVALUE;

	if (has_storage && ConditionalLockRelationOid(rel->oid, AccessShareLock))
	{
		Relation	r = relation_open(rel->oid, NoLock);

		pages = RelationGetNumberOfBlocks(r);
		relation_close(r, NoLock);
		UnlockRelationOid(rel->oid, AccessShareLock);
	}
	rel->size = (int64) pages * BLCKSZ;
	if (form->reltuples >= 0 && form->relpages > 0)
		rel->rows = floor(form->reltuples / form->relpages * pages + 0.5);
	else if (form->reltuples >= 0)
		rel->rows = pages == 0 ? 0 : form->reltuples;
	else if (has_storage)
		/* never vacuumed nor analyzed: the most rows its pages can hold */
		rel->rows = (double) pages * MaxHeapTuplesPerPage;
	else
		rel->rows = -1;
}

/* A relation as the lint sees it: created earlier, in the catalog (with its size), or neither. */
static LintRel
lookup_relation(LintState *st, RangeVar *rv)
{
	LintRel		rel = {rv, InvalidOid, false, -1, -1};
	HeapTuple	tup;

	if (rv == NULL)
		return rel;
	rel.created = created_earlier(st, rv);
	if (rel.created)
		return rel;
	rel.oid = RangeVarGetRelid(rv, NoLock, true);
	if (!OidIsValid(rel.oid))
		return rel;
	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(rel.oid));
	if (!HeapTupleIsValid(tup))
	{
		rel.oid = InvalidOid;	/* dropped meanwhile */
		return rel;
	}
	relation_size(&rel, (Form_pg_class) GETSTRUCT(tup));
	ReleaseSysCache(tup);
	return rel;
}

/* The severity of a finding on an existing relation, by its estimated rows. */
static const char *
severity_of(const LintRel *rel)
{
	if (rel->rows < 0)
		return "warning";		/* size unknown */
	if (rel->rows >= lint_error_rows)
		return "error";
	if (rel->rows >= lint_warn_rows)
		return "warning";
	return "notice";
}

/* The statement, whitespace runs made one space, cut at 60 characters. */
static char *
shorten_statement(const char *sql)
{
	StringInfoData buf;
	bool		space = false;

	initStringInfo(&buf);
	for (const char *p = sql; *p && buf.len < 60; p++)
	{
		if (isspace((unsigned char) *p))
		{
			space = buf.len > 0;
			continue;
		}
		if (space)
			appendStringInfoChar(&buf, ' ');
		space = false;
		appendStringInfoChar(&buf, *p);
	}
	if (buf.len >= 60)
	{
		buf.len = pg_mbcliplen(buf.data, buf.len, 57);
		buf.data[buf.len] = '\0';
		appendStringInfoString(&buf, "...");
	}
	return buf.data;
}

/*
 * The line of the statement being linted (of its first word, after the
 * whitespace and comments before it) and its text: sql_statements() splits
 * the SQL once, at the first finding, so that SQL without findings is only
 * parsed.
 */
static void
statement_position(LintState *st, int *line, char **text)
{
	int			n;

	if (st->positions == NULL)
		st->positions = sql_statements(st->sql, &n);
	*line = st->positions[st->index].line;
	*text = st->positions[st->index].sql;
}

/* Records a finding of the statement being linted. */
static void
add_finding(LintState *st, const char *rule, const char *severity, const LintRel *rel,
			char *message, const char *hint)
{
	LintFinding *f;
	char	   *text;

	if (!st->notices && strcmp(severity, "notice") == 0)
		return;
	f = palloc0(sizeof(LintFinding));
	f->rule = rule;
	f->severity = severity;
	statement_position(st, &f->line, &text);
	f->statement = shorten_statement(text);
	f->relation = rel && rel->rv ? NameListToString(list_make2(makeString(rel->rv->schemaname ?
																		  rel->rv->schemaname : ""),
														   makeString(rel->rv->relname))) : NULL;
	if (f->relation && rel->rv->schemaname == NULL)
		f->relation = pstrdup(rel->rv->relname);
	f->rows = rel && OidIsValid(rel->oid) ? rel->rows : -1;
	f->size = rel && OidIsValid(rel->oid) ? rel->size : -1;
	f->message = message;
	f->hint = hint;
	st->findings = lappend(st->findings, f);
}

/*
 * Records a finding graded by the relation's size, for a statement that
 * locks or rewrites it: none for a relation created earlier in the SQL or
 * not in the catalog (an earlier revision creates it, empty).
 */
static void
add_size_finding(LintState *st, const char *rule, const LintRel *rel, char *message,
				 const char *hint)
{
	if (rel->created || !OidIsValid(rel->oid))
		return;
	add_finding(st, rule, severity_of(rel), rel, message, hint);
}

/*
 * The first lock-taking statement on an existing relation with no
 * lock_timeout in force: reported once per SQL.
 */
static void
check_lock_timeout(LintState *st, const LintRel *rel, const char *what)
{
	if (st->lock_timeout || st->timeout_reported || migrate_lock_timeout > 0 ||
		rel->created || !OidIsValid(rel->oid))
		return;
	st->timeout_reported = true;
	add_finding(st, "require-lock-timeout", severity_of(rel), rel,
				psprintf("%s waits for its lock on \"%s\" with no lock_timeout",
						 what, rel->rv->relname),
				"Begin the revision with SET lock_timeout = '2s', or set migrate.lock_timeout: "
				"a statement waiting for its lock makes every later query on the table wait behind it.");
}

/* Notes a SET or RESET of lock_timeout. */
static void
note_setting(LintState *st, VariableSetStmt *set)
{
	A_Const    *value;

	if (set->name == NULL || strcmp(set->name, "lock_timeout") != 0)
		return;
	st->lock_timeout = false;
	if (set->kind != VAR_SET_VALUE || list_length(set->args) != 1 ||
		!IsA(linitial(set->args), A_Const))
		return;
	value = linitial_node(A_Const, set->args);
	if (value->isnull)
		return;
	if (IsA(&value->val, Integer))
		st->lock_timeout = intVal(&value->val) > 0;
	else if (IsA(&value->val, String))
		st->lock_timeout = strspn(strVal(&value->val), "0 ") < strlen(strVal(&value->val));
}

/* CREATE INDEX without CONCURRENTLY on an existing table. */
static void
lint_index(LintState *st, IndexStmt *stmt)
{
	LintRel		rel = lookup_relation(st, stmt->relation);

	if (stmt->concurrent)
		return;
	check_lock_timeout(st, &rel, "CREATE INDEX");
	add_size_finding(st, "require-concurrent-index-creation", &rel,
					 psprintf("CREATE INDEX on \"%s\" blocks its writes while the index builds",
							  stmt->relation->relname),
					 "Use CREATE INDEX CONCURRENTLY: the revision then runs statement by statement, outside a transaction.");
}

/*
 * Whether a raw default expression is volatile: constants are not; anything
 * else is transformed in a subtransaction, an error (such as a function an
 * earlier statement creates) meaning unknown, reported as false.
 */
static bool
default_is_volatile(Node *raw)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	volatile bool result = false;

	if (raw == NULL || IsA(raw, A_Const) ||
		(IsA(raw, TypeCast) && IsA(((TypeCast *) raw)->arg, A_Const)))
		return false;
	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		ParseState *pstate = make_parsestate(NULL);
		Node	   *expr = transformExpr(pstate, copyObject(raw), EXPR_KIND_COLUMN_DEFAULT);

		result = contain_volatile_functions(expr);
		ReleaseCurrentSubTransaction();
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(cxt);
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
	}
	PG_END_TRY();
	MemoryContextSwitchTo(cxt);
	CurrentResourceOwner = owner;
	return result;
}

/* What of an added column rewrites the table, or NULL. */
static const char *
column_rewrites(ColumnDef *def)
{
	ListCell   *lc;
	const char *type = def->typeName && def->typeName->names ?
		strVal(llast(def->typeName->names)) : "";

	if (strcmp(type, "serial") == 0 || strcmp(type, "bigserial") == 0 ||
		strcmp(type, "smallserial") == 0 || strcmp(type, "serial4") == 0 ||
		strcmp(type, "serial8") == 0 || strcmp(type, "serial2") == 0)
		return "a serial type (a volatile nextval() default)";
	foreach(lc, def->constraints)
	{
		Constraint *c = lfirst_node(Constraint, lc);

		if (c->contype == CONSTR_IDENTITY)
			return "an identity";
		if (c->contype == CONSTR_GENERATED)
			return "a stored generated expression";
		if (c->contype == CONSTR_DEFAULT && default_is_volatile(c->raw_expr))
			return "a volatile default";
	}
	return NULL;
}

/*
 * Whether changing a column from one type to another rewrites the table:
 * not when the cast is binary-coercible (pg_cast) and a length or precision
 * only grows or goes.
 */
static bool
type_change_rewrites(Oid oldtype, int32 oldmod, Oid newtype, int32 newmod)
{
	if (!IsBinaryCoercible(oldtype, newtype))
		return true;
	if (newmod < 0 || oldtype != newtype)
		return false;
	if (oldmod < 0)
		return true;			/* a limit where there was none: checked row by row */
	if (oldtype == NUMERICOID)
		return ((oldmod - VARHDRSZ) & 0xffff) != ((newmod - VARHDRSZ) & 0xffff) ||
			((newmod - VARHDRSZ) >> 16) < ((oldmod - VARHDRSZ) >> 16);
	return newmod < oldmod;
}

/* ALTER COLUMN ... TYPE that rewrites the table (USING always does, here). */
static void
lint_column_type(LintState *st, LintRel *rel, AlterTableCmd *cmd)
{
	ColumnDef  *def = castNode(ColumnDef, cmd->def);
	AttrNumber	attnum;
	Oid			oldtype;
	int32		oldmod;
	Oid			oldcoll;
	int32		newmod = -1;
	Type		newtype;
	Oid			newoid;

	if (!OidIsValid(rel->oid) || (attnum = get_attnum(rel->oid, cmd->name)) == InvalidAttrNumber)
		return;
	get_atttypetypmodcoll(rel->oid, attnum, &oldtype, &oldmod, &oldcoll);
	newtype = LookupTypeName(NULL, def->typeName, &newmod, true);
	if (newtype == NULL)
		return;
	newoid = typeTypeId(newtype);
	ReleaseSysCache(newtype);
	if (def->raw_default == NULL && !type_change_rewrites(oldtype, oldmod, newoid, newmod))
		return;
	add_size_finding(st, "changing-column-type", rel,
					 psprintf("changing the type of column \"%s\" from %s to %s rewrites \"%s\" under an ACCESS EXCLUSIVE lock",
							  cmd->name, format_type_with_typemod(oldtype, oldmod),
							  format_type_with_typemod(newoid, newmod), rel->rv->relname),
					 "Add a column of the new type, fill it in batches, and switch to it.");
}

/* Whether a validated CHECK constraint of the table proves the column not null. */
static bool
catalog_check_implies_not_null(Oid relid, AttrNumber attnum)
{
	Relation	conrel = table_open(ConstraintRelationId, AccessShareLock);
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	NullTest   *nt = makeNode(NullTest);
	Oid			typid;
	int32		typmod;
	Oid			collid;
	bool		implied = false;

	get_atttypetypmodcoll(relid, attnum, &typid, &typmod, &collid);
	nt->arg = (Expr *) makeVar(1, attnum, typid, typmod, collid, 0);
	nt->nulltesttype = IS_NOT_NULL;
	nt->argisrow = false;
	nt->location = -1;
	ScanKeyInit(&key, Anum_pg_constraint_conrelid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(relid));
	scan = systable_beginscan(conrel, ConstraintRelidTypidNameIndexId, true, NULL, 1, &key);
	while (!implied && HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Form_pg_constraint con = (Form_pg_constraint) GETSTRUCT(tup);
		bool		isnull;
		Datum		bin;

		if (con->contype != CONSTRAINT_CHECK || !con->convalidated)
			continue;
		bin = heap_getattr(tup, Anum_pg_constraint_conbin, RelationGetDescr(conrel), &isnull);
		if (!isnull)
			implied = predicate_implied_by(list_make1(nt),
										   make_ands_implicit(stringToNode(TextDatumGetCString(bin))),
										   false);
	}
	systable_endscan(scan);
	table_close(conrel, AccessShareLock);
	return implied;
}

/* Whether the SQL added and validated a CHECK (col IS NOT NULL) before. */
static bool
sql_check_implies_not_null(LintState *st, RangeVar *rv, const char *column)
{
	ListCell   *lc;

	foreach(lc, st->checks)
	{
		LintCheck  *c = lfirst(lc);

		if (c->validated && same_relation(c->rv, rv) && strcmp(c->column, column) == 0)
			return true;
	}
	return false;
}

/* Whether a column is already NOT NULL. */
static bool
column_not_null(Oid relid, AttrNumber attnum)
{
	HeapTuple	tup = SearchSysCache2(ATTNUM, ObjectIdGetDatum(relid), Int16GetDatum(attnum));
	bool		result = false;

	if (HeapTupleIsValid(tup))
	{
		result = ((Form_pg_attribute) GETSTRUCT(tup))->attnotnull;
		ReleaseSysCache(tup);
	}
	return result;
}

/* SET NOT NULL with no validated CHECK constraint proving it: a full scan. */
static void
lint_set_not_null(LintState *st, LintRel *rel, AlterTableCmd *cmd)
{
	AttrNumber	attnum;

	if (!OidIsValid(rel->oid) || (attnum = get_attnum(rel->oid, cmd->name)) == InvalidAttrNumber)
		return;
	if (column_not_null(rel->oid, attnum) ||
		sql_check_implies_not_null(st, rel->rv, cmd->name) ||
		catalog_check_implies_not_null(rel->oid, attnum))
		return;
	add_size_finding(st, "setting-not-nullable-field", rel,
					 psprintf("SET NOT NULL on column \"%s\" scans \"%s\" under an ACCESS EXCLUSIVE lock",
							  cmd->name, rel->rv->relname),
					 "Add CHECK (column IS NOT NULL) NOT VALID, VALIDATE it, then SET NOT NULL: the scan is skipped.");
}

/* The column of a raw "col IS NOT NULL", or NULL. */
static char *
not_null_column(Node *expr)
{
	NullTest   *nt;
	ColumnRef  *ref;

	if (expr == NULL || !IsA(expr, NullTest))
		return NULL;
	nt = (NullTest *) expr;
	if (nt->nulltesttype != IS_NOT_NULL || !IsA(nt->arg, ColumnRef))
		return NULL;
	ref = (ColumnRef *) nt->arg;
	return list_length(ref->fields) == 1 && IsA(linitial(ref->fields), String) ?
		strVal(linitial(ref->fields)) : NULL;
}

/* Notes a CHECK (col IS NOT NULL) added, or a VALIDATE CONSTRAINT of one. */
static void
note_check(LintState *st, RangeVar *rv, Constraint *con, const char *validated)
{
	ListCell   *lc;
	char	   *column;

	if (validated != NULL)
	{
		foreach(lc, st->checks)
		{
			LintCheck  *c = lfirst(lc);

			if (c->conname && strcmp(c->conname, validated) == 0 && same_relation(c->rv, rv))
				c->validated = true;
		}
		return;
	}
	column = not_null_column(con->raw_expr);
	if (column != NULL)
	{
		LintCheck  *c = palloc(sizeof(LintCheck));

		c->rv = rv;
		c->conname = con->conname;
		c->column = column;
		c->validated = !con->skip_validation;
		st->checks = lappend(st->checks, c);
	}
}

/* Whether the first n columns of a list are the n names, in any order. */
static bool
leads_with(List *columns, List *names)
{
	int			n = list_length(names);
	ListCell   *lc;

	if (n == 0 || list_length(columns) < n)
		return false;
	foreach(lc, names)
	{
		bool		found = false;

		for (int i = 0; i < n && !found; i++)
		{
			String	   *col = list_nth(columns, i);

			found = col != NULL && strcmp(strVal(col), strVal(lfirst(lc))) == 0;
		}
		if (!found)
			return false;
	}
	return true;
}

/* Whether an index of the table in the catalog leads with the columns. */
static bool
catalog_index_leads_with(Oid relid, List *names)
{
	Relation	indrel = table_open(IndexRelationId, AccessShareLock);
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	bool		found = false;

	ScanKeyInit(&key, Anum_pg_index_indrelid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(relid));
	scan = systable_beginscan(indrel, IndexIndrelidIndexId, true, NULL, 1, &key);
	while (!found && HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Form_pg_index ind = (Form_pg_index) GETSTRUCT(tup);
		List	   *columns = NIL;

		for (int i = 0; i < ind->indnkeyatts; i++)
		{
			char	   *name = ind->indkey.values[i] > 0 ?
				get_attname(relid, ind->indkey.values[i], true) : NULL;

			columns = lappend(columns, name ? makeString(name) : NULL);
		}
		found = leads_with(columns, names);
	}
	systable_endscan(scan);
	table_close(indrel, AccessShareLock);
	return found;
}

/* A new foreign key whose referencing columns lead no index, in the SQL or the catalog. */
static void
check_fk_index(LintState *st, LintRel *rel, List *fk_attrs)
{
	ListCell   *lc;
	StringInfoData cols;

	foreach(lc, st->indexes)
	{
		LintIndex  *ix = lfirst(lc);

		if (same_relation(ix->rv, rel->rv) && leads_with(ix->columns, fk_attrs))
			return;
	}
	if (OidIsValid(rel->oid) && !rel->created && catalog_index_leads_with(rel->oid, fk_attrs))
		return;
	initStringInfo(&cols);
	foreach(lc, fk_attrs)
		appendStringInfo(&cols, "%s%s", cols.len ? ", " : "", strVal(lfirst(lc)));
	add_finding(st, "foreign-key-without-index",
				rel->created || !OidIsValid(rel->oid) ? "notice" : severity_of(rel), rel,
				psprintf("no index on \"%s\" leads with the referencing columns (%s) of a new foreign key",
						 rel->rv->relname, cols.data),
				"Index the referencing columns: every delete or key update in the referenced table scans this one without it.");
}

/* ADD CONSTRAINT: validation scans, index builds, and the foreign key's index. */
static void
lint_add_constraint(LintState *st, LintRel *rel, Constraint *con)
{
	if (con->contype == CONSTR_CHECK)
		note_check(st, rel->rv, con, NULL);
	if (con->contype == CONSTR_FOREIGN)
		check_fk_index(st, rel, con->fk_attrs);
	if (con->contype == CONSTR_FOREIGN && !con->skip_validation)
		add_size_finding(st, "adding-foreign-key-constraint", rel,
						 psprintf("adding a foreign key to \"%s\" scans it under a SHARE ROW EXCLUSIVE lock on both tables",
								  rel->rv->relname),
						 "Add it NOT VALID, then VALIDATE CONSTRAINT in a later statement or revision: validation blocks no writes.");
	if (con->contype == CONSTR_CHECK && !con->skip_validation)
		add_size_finding(st, "constraint-missing-not-valid", rel,
						 psprintf("adding a CHECK constraint to \"%s\" scans it under an ACCESS EXCLUSIVE lock",
								  rel->rv->relname),
						 "Add it NOT VALID, then VALIDATE CONSTRAINT in a later statement or revision: validation blocks no writes.");
	if ((con->contype == CONSTR_PRIMARY || con->contype == CONSTR_UNIQUE) &&
		con->indexname == NULL)
		add_size_finding(st, "constraint-without-using-index", rel,
						 psprintf("adding a %s constraint to \"%s\" builds its index under an ACCESS EXCLUSIVE lock",
								  con->contype == CONSTR_PRIMARY ? "PRIMARY KEY" : "UNIQUE",
								  rel->rv->relname),
						 "CREATE UNIQUE INDEX CONCURRENTLY first, then ADD CONSTRAINT ... USING INDEX.");
}

/* ADD COLUMN: a rewrite, and a foreign key of the column. */
static void
lint_add_column(LintState *st, LintRel *rel, ColumnDef *def)
{
	const char *why = OidIsValid(rel->oid) ? column_rewrites(def) : NULL;
	ListCell   *lc;

	if (why != NULL)
		add_size_finding(st, "adding-field-with-volatile-default", rel,
						 psprintf("adding column \"%s\" with %s rewrites \"%s\" under an ACCESS EXCLUSIVE lock",
								  def->colname, why, rel->rv->relname),
						 "Add the column without a default (or with a constant one), then fill it in batches.");
	foreach(lc, def->constraints)
	{
		Constraint *c = lfirst_node(Constraint, lc);

		if (c->contype == CONSTR_FOREIGN)
			check_fk_index(st, rel, list_make1(makeString(def->colname)));
	}
}

/* One subcommand of ALTER TABLE. */
static void
lint_alter_cmd(LintState *st, LintRel *rel, AlterTableCmd *cmd)
{
	switch (cmd->subtype)
	{
		case AT_AddColumn:
			lint_add_column(st, rel, castNode(ColumnDef, cmd->def));
			break;
		case AT_AlterColumnType:
			lint_column_type(st, rel, cmd);
			break;
		case AT_SetNotNull:
			lint_set_not_null(st, rel, cmd);
			break;
		case AT_AddConstraint:
			lint_add_constraint(st, rel, castNode(Constraint, cmd->def));
			break;
		case AT_ValidateConstraint:
			note_check(st, rel->rv, NULL, cmd->name);
			break;
		case AT_DropColumn:
			if (!rel->created)
				add_finding(st, "ban-drop-column", OidIsValid(rel->oid) ? severity_of(rel) : "notice",
							rel, psprintf("dropping column \"%s\" of \"%s\" breaks the applications that read it",
										  cmd->name, rel->rv->relname),
							"Deploy the applications that no longer use the column first, and drop it in a later release.");
			break;
		default:
			break;
	}
}

/* ALTER TABLE: the lock_timeout rule, then each subcommand. */
static void
lint_alter_table(LintState *st, AlterTableStmt *stmt)
{
	LintRel		rel;
	ListCell   *lc;

	if (stmt->objtype != OBJECT_TABLE)
		return;
	rel = lookup_relation(st, stmt->relation);
	check_lock_timeout(st, &rel, "ALTER TABLE");
	foreach(lc, stmt->cmds)
		lint_alter_cmd(st, &rel, lfirst_node(AlterTableCmd, lc));
}

/* DROP TABLE of a table the SQL did not create. */
static void
lint_drop(LintState *st, DropStmt *stmt)
{
	ListCell   *lc;

	if (stmt->removeType != OBJECT_TABLE)
		return;
	foreach(lc, stmt->objects)
	{
		LintRel		rel = lookup_relation(st, makeRangeVarFromNameList(lfirst(lc)));

		if (rel.created)
			continue;
		check_lock_timeout(st, &rel, "DROP TABLE");
		add_finding(st, "ban-drop-table", OidIsValid(rel.oid) ? severity_of(&rel) : "notice", &rel,
					psprintf("dropping table \"%s\" breaks the applications that use it, and loses its rows",
							 rel.rv->relname),
					"Deploy the applications that no longer use the table first, and drop it in a later release.");
	}
}

/* Renaming a table or a column: every query naming the old name fails. */
static void
lint_rename(LintState *st, RenameStmt *stmt)
{
	LintRel		rel;

	if (stmt->renameType != OBJECT_TABLE &&
		!(stmt->renameType == OBJECT_COLUMN && stmt->relationType == OBJECT_TABLE))
		return;
	rel = lookup_relation(st, stmt->relation);
	if (rel.created)
		return;
	check_lock_timeout(st, &rel, "ALTER TABLE ... RENAME");
	if (stmt->renameType == OBJECT_TABLE)
		add_finding(st, "renaming-table", OidIsValid(rel.oid) ? severity_of(&rel) : "notice", &rel,
					psprintf("renaming table \"%s\" to \"%s\" breaks the applications that use the old name",
							 rel.rv->relname, stmt->newname),
					"Create a view of the old name for the time the applications move, or keep the name.");
	else
		add_finding(st, "renaming-column", OidIsValid(rel.oid) ? severity_of(&rel) : "notice", &rel,
					psprintf("renaming column \"%s\" of \"%s\" to \"%s\" breaks the applications that use the old name",
							 stmt->subname, rel.rv->relname, stmt->newname),
					"Add the new column, write both for a release, then drop the old one.");
}

/* VACUUM FULL and CLUSTER: a rewrite under an ACCESS EXCLUSIVE lock. */
static void
lint_rewrite(LintState *st, const char *what, RangeVar *rv)
{
	LintRel		rel = lookup_relation(st, rv);
	const char *rule = strcmp(what, "CLUSTER") == 0 ? "ban-cluster" : "ban-vacuum-full";

	if (rv == NULL)
	{
		add_finding(st, rule, "warning", NULL,
					psprintf("%s of every table rewrites each under an ACCESS EXCLUSIVE lock", what),
					"Use pg_repack, or plain VACUUM, outside the deploy.");
		return;
	}
	check_lock_timeout(st, &rel, what);
	add_size_finding(st, rule, &rel,
					 psprintf("%s rewrites \"%s\" under an ACCESS EXCLUSIVE lock", what, rv->relname),
					 "Use pg_repack, or plain VACUUM, outside the deploy.");
}

/* VACUUM FULL, of the tables listed or of all. */
static void
lint_vacuum(LintState *st, VacuumStmt *stmt)
{
	ListCell   *lc;
	bool		full = false;

	if (!stmt->is_vacuumcmd)
		return;
	foreach(lc, stmt->options)
	{
		DefElem    *opt = lfirst_node(DefElem, lc);

		if (strcmp(opt->defname, "full") == 0)
			full = defGetBoolean(opt);
	}
	if (!full)
		return;
	if (stmt->rels == NIL)
		lint_rewrite(st, "VACUUM FULL", NULL);
	foreach(lc, stmt->rels)
		lint_rewrite(st, "VACUUM FULL", lfirst_node(VacuumRelation, lc)->relation);
}

/* CREATE TABLE: the relation is new (empty), and its foreign keys want indexes. */
static void
lint_create(LintState *st, CreateStmt *stmt)
{
	LintRel		rel = {stmt->relation, InvalidOid, true, 0, 0};
	ListCell   *lc;

	st->created = lappend(st->created, stmt->relation);
	foreach(lc, stmt->tableElts)
	{
		Node	   *elt = lfirst(lc);
		ListCell   *lc2;

		if (IsA(elt, Constraint) && ((Constraint *) elt)->contype == CONSTR_FOREIGN)
			check_fk_index(st, &rel, ((Constraint *) elt)->fk_attrs);
		if (!IsA(elt, ColumnDef))
			continue;
		foreach(lc2, ((ColumnDef *) elt)->constraints)
			if (lfirst_node(Constraint, lc2)->contype == CONSTR_FOREIGN)
				check_fk_index(st, &rel, list_make1(makeString(((ColumnDef *) elt)->colname)));
	}
	foreach(lc, stmt->constraints)
		if (lfirst_node(Constraint, lc)->contype == CONSTR_FOREIGN)
			check_fk_index(st, &rel, lfirst_node(Constraint, lc)->fk_attrs);
}

/* Lints one statement. */
static void
lint_statement(LintState *st, Node *stmt)
{
	switch (nodeTag(stmt))
	{
		case T_IndexStmt:
			lint_index(st, (IndexStmt *) stmt);
			break;
		case T_AlterTableStmt:
			lint_alter_table(st, (AlterTableStmt *) stmt);
			break;
		case T_DropStmt:
			lint_drop(st, (DropStmt *) stmt);
			break;
		case T_RenameStmt:
			lint_rename(st, (RenameStmt *) stmt);
			break;
		case T_VacuumStmt:
			lint_vacuum(st, (VacuumStmt *) stmt);
			break;
		case T_ClusterStmt:
			lint_rewrite(st, "CLUSTER", ((ClusterStmt *) stmt)->relation);
			break;
		case T_CreateStmt:
			lint_create(st, (CreateStmt *) stmt);
			break;
		case T_CreateTableAsStmt:
			st->created = lappend(st->created, ((CreateTableAsStmt *) stmt)->into->rel);
			break;
		case T_VariableSetStmt:
			note_setting(st, (VariableSetStmt *) stmt);
			break;
		default:
			break;
	}
}

/* Notes an index of the SQL: its table and leading column names. */
static void
note_index(LintState *st, RangeVar *rv, List *columns)
{
	LintIndex  *ix = palloc(sizeof(LintIndex));

	ix->rv = rv;
	ix->columns = columns;
	st->indexes = lappend(st->indexes, ix);
}

/* Notes the index of a PRIMARY KEY or UNIQUE constraint (keys NIL: of the column). */
static void
note_constraint_index(LintState *st, RangeVar *rv, Constraint *con, const char *column)
{
	if (con->contype != CONSTR_PRIMARY && con->contype != CONSTR_UNIQUE)
		return;
	note_index(st, rv, con->keys != NIL || column == NULL ? con->keys :
			   list_make1(makeString(pstrdup(column))));
}

/* Notes the constraint indexes of table elements (CREATE TABLE, ADD COLUMN). */
static void
note_element_indexes(LintState *st, RangeVar *rv, Node *elt)
{
	ListCell   *lc;

	if (IsA(elt, Constraint))
		note_constraint_index(st, rv, (Constraint *) elt, NULL);
	if (IsA(elt, ColumnDef))
		foreach(lc, ((ColumnDef *) elt)->constraints)
			note_constraint_index(st, rv, lfirst_node(Constraint, lc),
								  ((ColumnDef *) elt)->colname);
}

/* Every index a statement creates, wherever it is in the SQL. */
static void
note_statement_indexes(LintState *st, Node *stmt)
{
	ListCell   *lc;

	if (IsA(stmt, IndexStmt))
	{
		List	   *columns = NIL;

		foreach(lc, ((IndexStmt *) stmt)->indexParams)
		{
			IndexElem  *elem = lfirst_node(IndexElem, lc);

			columns = lappend(columns, elem->name ? makeString(elem->name) : NULL);
		}
		note_index(st, ((IndexStmt *) stmt)->relation, columns);
	}
	else if (IsA(stmt, CreateStmt))
	{
		foreach(lc, ((CreateStmt *) stmt)->tableElts)
			note_element_indexes(st, ((CreateStmt *) stmt)->relation, lfirst(lc));
		foreach(lc, ((CreateStmt *) stmt)->constraints)
			note_element_indexes(st, ((CreateStmt *) stmt)->relation, lfirst(lc));
	}
	else if (IsA(stmt, AlterTableStmt))
		foreach(lc, ((AlterTableStmt *) stmt)->cmds)
		{
			AlterTableCmd *cmd = lfirst_node(AlterTableCmd, lc);

			if ((cmd->subtype == AT_AddConstraint || cmd->subtype == AT_AddColumn) && cmd->def)
				note_element_indexes(st, ((AlterTableStmt *) stmt)->relation, cmd->def);
		}
}

/* Whether a rule is one of the rules ignored. */
static bool
rule_ignored(const char *rule, char **ignore, int nignore)
{
	for (int i = 0; i < nignore; i++)
		if (strcmp(ignore[i], rule) == 0)
			return true;
	return false;
}

/*
 * The raw parse trees of SQL as a revision's SQL is read, with
 * standard_conforming_strings on (sqlcheck.c).  The setting is changed only
 * when it is off; an error undoes it with its (sub)transaction.
 */
static List *
lint_parse(const char *sql)
{
	int			nestlevel;
	List	   *stmts;

	if (standard_conforming_strings)
		return raw_parser(sql, RAW_PARSE_DEFAULT);
	nestlevel = NewGUCNestLevel();
	(void) set_config_option("standard_conforming_strings", "on",
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	stmts = raw_parser(sql, RAW_PARSE_DEFAULT);
	AtEOXact_GUC(false, nestlevel);
	return stmts;
}

/*
 * The findings of SQL, in statement order, without those of the rules
 * ignored (rule names); without those of severity notice unless notices.
 * The statements' lines and texts are worked out only for findings.
 */
List *
lint_findings(const char *sql, char **ignore, int nignore, bool notices)
{
	LintState	st = {0};
	List	   *stmts;
	List	   *kept = NIL;
	ListCell   *lc;

	if (sql == NULL || sql[0] == '\0')
		return NIL;
	stmts = lint_parse(sql);
	st.sql = sql;
	st.notices = notices;
	foreach(lc, stmts)
		note_statement_indexes(&st, lfirst_node(RawStmt, lc)->stmt);
	foreach(lc, stmts)
	{
		CHECK_FOR_INTERRUPTS();
		st.index = foreach_current_index(lc);
		lint_statement(&st, lfirst_node(RawStmt, lc)->stmt);
	}
	foreach(lc, st.findings)
		if (!rule_ignored(((LintFinding *) lfirst(lc))->rule, ignore, nignore))
			kept = lappend(kept, lfirst(lc));
	return kept;
}

/* Whether a finding is reported at add: of severity warning or error. */
static bool
reported_at_add(const LintFinding *f)
{
	return strcmp(f->severity, "notice") != 0;
}

/*
 * The lint of a revision's up SQL at add: a WARNING per finding of severity
 * warning or error (migrate.lint = warn or error); with migrate.lint = error
 * a finding of severity error refuses the revision, the findings listed in
 * the detail.  line_base: lines of its file before the SQL, or -1.
 */
void
lint_at_add(const char *name, const char *up, int line_base, char **ignore, int nignore)
{
	List	   *findings;
	ListCell   *lc;
	StringInfoData errors;
	int			nerrors = 0;
	int			nignored;
	char	  **rules;

	if (migrate_lint_mode == LINT_OFF)
		return;
	rules = lint_ignored_rules(ignore ? strings_to_array(ignore, nignore) : NULL, &nignored);
	findings = lint_findings(up, rules, nignored, false);
	initStringInfo(&errors);
	foreach(lc, findings)
	{
		LintFinding *f = lfirst(lc);
		int			line = line_base >= 0 ? line_base + f->line : f->line;

		if (!reported_at_add(f))
			continue;
		if (strcmp(f->severity, "error") == 0)
			appendStringInfo(&errors, "%sLine %d, %s: %s.", nerrors++ ? " " : "", line, f->rule,
							 f->message);
		ereport(WARNING,
				(errcode(ERRCODE_WARNING),
				 errmsg("%s", f->message),
				 line_base >= 0 ?
				 errdetail("Lint rule %s, severity %s, at line %d of the migration file of revision \"%s\".",
						   f->rule, f->severity, line, name) :
				 errdetail("Lint rule %s, severity %s, at line %d of the up SQL of revision \"%s\".",
						   f->rule, f->severity, line, name),
				 errhint("%s", f->hint)));
	}
	if (nerrors > 0 && migrate_lint_mode == LINT_ERROR)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg_plural("revision \"%s\" has %d lint finding of severity error",
							   "revision \"%s\" has %d lint findings of severity error",
							   nerrors, name, nerrors),
				 errdetail("%s", errors.data),
				 errhint("Change the SQL, or ignore the rule with its reason (a \"-- migrate:lint-ignore RULE reason\" line, or add(..., lint_ignore => ARRAY['RULE: reason'])); migrate.lint = warn only warns.")));
}

/* Puts findings as rows of lint()'s result. */
static void
put_findings(FunctionCallInfo fcinfo, List *findings)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ListCell   *lc;

	foreach(lc, findings)
	{
		LintFinding *f = lfirst(lc);
		Datum		values[9];
		bool		nulls[9] = {0};

		values[0] = CStringGetTextDatum(f->rule);
		values[1] = CStringGetTextDatum(f->severity);
		values[2] = Int32GetDatum(f->line);
		values[3] = CStringGetTextDatum(f->statement);
		values[4] = f->relation ? CStringGetTextDatum(f->relation) : (nulls[4] = true, (Datum) 0);
		values[5] = f->rows >= 0 ? Int64GetDatum((int64) f->rows) : (nulls[5] = true, (Datum) 0);
		values[6] = f->size >= 0 ? Int64GetDatum(f->size) : (nulls[6] = true, (Datum) 0);
		values[7] = CStringGetTextDatum(f->message);
		values[8] = CStringGetTextDatum(f->hint);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
}

/* The rule an ignore entry ("rule: reason" or "rule reason") names, and where its reason starts. */
static char *
ignore_entry_rule(const char *entry, const char **reason)
{
	size_t		len = strcspn(entry, ": \t");
	const char *p = entry + len;

	while (*p == ':' || *p == ' ' || *p == '\t')
		p++;
	*reason = p;
	return pnstrdup(entry, len);
}

/*
 * Refuses an ignore entry that does not name a rule, or gives no reason.
 * name is the revision's, for the message.
 */
void
lint_check_ignore(const char *name, char **entries, int n)
{
	for (int i = 0; i < n; i++)
	{
		const char *reason;
		char	   *rule = ignore_entry_rule(entries[i], &reason);
		bool		known = false;

		for (int r = 0; lint_rules[r] != NULL && !known; r++)
			known = strcmp(lint_rules[r], rule) == 0;
		if (!known)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("revision \"%s\" ignores unknown lint rule \"%s\"", name, rule),
					 errhint("A lint-ignore entry is a rule name, as migrate.lint() shows it, then the reason.")));
		if (strpbrk(entries[i], "\r\n") != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("lint-ignore entry of revision \"%s\" must be a single line", name)));
		if (*reason == '\0')
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("revision \"%s\" ignores lint rule \"%s\" without a reason", name, rule),
					 errhint("Write the reason after the rule name: \"%s: the table is always small\".", rule)));
	}
}

/* The rule names of ignore entries (arr NULL: none). */
char **
lint_ignored_rules(ArrayType *arr, int *n)
{
	char	  **entries;
	const char *reason;

	*n = 0;
	if (arr == NULL)
		return NULL;
	entries = array_to_strings(arr, "lint_ignore", n);
	for (int i = 0; i < *n; i++)
		entries[i] = ignore_entry_rule(entries[i], &reason);
	return entries;
}

/* The stored lint_ignore of a revision (a column of 1.1), or NULL. */
static ArrayType *
fetch_lint_ignore(const char *id)
{
	const char *col = "lint_ignore";
	Datum		value;
	bool		isnull;

	if (!catalog_has_transactional() ||
		!catalog_read_revision(id, true, 1, &col, &value, &isnull, NULL) || isnull)
		return NULL;
	return DatumGetArrayTypeP(value);
}

/*
 * The findings of a plan step as plan() shows them, one line each
 * ("warning rule line 3: message"): the lint of the revision's up SQL (down
 * SQL for a step that unapplies it), less the rules it ignores.  Read with
 * the query's snapshot, as every listing.
 */
ArrayType *
lint_step_findings(const char *id, bool down)
{
	const char *cols[2] = {down ? "down_sql" : "up_sql", "lint_ignore"};
	Datum		values[2];
	bool		nulls[2] = {true, true};
	List	   *findings = NIL;
	char	  **lines;
	char	  **ignore = NULL;
	int			nignore = 0;
	int			n = 0;
	ListCell   *lc;

	if (!catalog_read_revision(id, false, catalog_has_transactional() ? 2 : 1, cols, values,
							   nulls, NULL))
		elog(ERROR, "revision \"%s\" vanished", id);
	if (!nulls[1])
		ignore = lint_ignored_rules(DatumGetArrayTypeP(values[1]), &nignore);
	if (!nulls[0])
		findings = lint_findings(TextDatumGetCString(values[0]), ignore, nignore, true);
	lines = palloc(sizeof(char *) * Max(list_length(findings), 1));
	foreach(lc, findings)
	{
		LintFinding *f = lfirst(lc);

		lines[n++] = psprintf("%s %s line %d: %s", f->severity, f->rule, f->line, f->message);
	}
	return strings_to_array(lines, n);
}

PG_FUNCTION_INFO_V1(migrate_lint_sql);

/* migrate.lint_sql(sql): the findings of SQL against the live catalog. */
Datum
migrate_lint_sql(PG_FUNCTION_ARGS)
{
	char	   *sql = required_text_arg(fcinfo, 0, "sql");

	InitMaterializedSRF(fcinfo, 0);
	put_findings(fcinfo, lint_findings(normalize_line_ends(sql, true), NULL, 0, true));
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(migrate_lint);

/*
 * migrate.lint(revision, down): the findings of a revision's up SQL (down
 * SQL with down), without the rules it ignores.
 */
Datum
migrate_lint(PG_FUNCTION_ARGS)
{
	char	   *ref = required_text_arg(fcinfo, 0, "revision");
	bool		down = !PG_ARGISNULL(1) && PG_GETARG_BOOL(1);
	Graph	   *g;
	char	   *id;
	char	   *sql;
	int			nignore;
	char	  **ignore;

	validate_name(ref, NAME_REVISION);
	InitMaterializedSRF(fcinfo, 0);
	catalog_connect();
	g = graph_load(true);
	id = pstrdup(g->revs[revision_resolve(g, ref)].id);
	sql = catalog_fetch_sql(id, down);
	ignore = lint_ignored_rules(fetch_lint_ignore(id), &nignore);
	put_findings(fcinfo, lint_findings(sql, ignore, nignore, true));
	SPI_finish();
	return (Datum) 0;
}
