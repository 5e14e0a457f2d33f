/*
 * residue.c
 *		What a revision leaves behind in the caller's session.
 *
 * A DBA may run a weaker registrant's revision (an approved one, or after
 * SET ROLE).  Whatever the revision leaves in the session would later run
 * with the DBA's privileges: a setting such as search_path, a deferred
 * trigger that fires at COMMIT, a temporary function or view that shadows a
 * real one, a holdable cursor or prepared statement evaluated later.  So a
 * revision ends like a function with SET clauses: its setting changes are
 * undone, its deferred constraints and triggers fire before it ends, and
 * temporary objects, holdable cursors and prepared statements that it
 * created and left are refused (the step fails, and with it the call).
 */
#include "migrate.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/xact.h"
#include "access/table.h"
#include "catalog/dependency.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/objectaddress.h"
#include "catalog/pg_depend.h"
#include "catalog/pg_namespace.h"
#include "commands/prepare.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "nodes/parsenodes.h"
#include "tcop/utility.h"
#include "utils/portal.h"
#include "miscadmin.h"
#include "parser/parser.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

/* The session's temporary objects: what depends on its temporary schema. */
static ObjectAddress *
temp_objects(Oid temp_namespace, int *count)
{
	Relation	rel;
	ScanKeyData key[2];
	SysScanDesc scan;
	HeapTuple	tuple;
	int			allocated = 8;
	ObjectAddress *objects = palloc(sizeof(ObjectAddress) * allocated);

	*count = 0;
	if (!OidIsValid(temp_namespace))
		return objects;

	rel = table_open(DependRelationId, AccessShareLock);
	ScanKeyInit(&key[0], Anum_pg_depend_refclassid, BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(NamespaceRelationId));
	ScanKeyInit(&key[1], Anum_pg_depend_refobjid, BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(temp_namespace));
	scan = systable_beginscan(rel, DependReferenceIndexId, true, NULL, 2, key);
	while (HeapTupleIsValid(tuple = systable_getnext(scan)))
	{
		Form_pg_depend dep = (Form_pg_depend) GETSTRUCT(tuple);

		CHECK_FOR_INTERRUPTS();
		if (*count == allocated)
		{
			allocated *= 2;
			objects = repalloc(objects, sizeof(ObjectAddress) * allocated);
		}
		objects[*count].classId = dep->classid;
		objects[*count].objectId = dep->objid;
		objects[*count].objectSubId = dep->objsubid;
		(*count)++;
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return objects;
}

/* The session's temporary schema, or InvalidOid if it has none yet. */
static Oid
temp_namespace(void)
{
	Oid			namespace;
	Oid			toast_namespace;

	GetTempNamespaceState(&namespace, &toast_namespace);
	return namespace;
}

/*
 * Holdable cursors and prepared statements that the running revision
 * declared, noted as their statements complete (names in
 * TopTransactionContext; both lists are cleared at transaction end).  Only
 * SQL creates them (DECLARE ... WITH HOLD, PREPARE), and it always passes
 * through ProcessUtility, so watching it costs a revision nothing.
 */
static bool watching = false;
static List *declared_cursors = NIL;
static List *prepared_statements = NIL;
static ProcessUtility_hook_type previous_utility_hook = NULL;

/* Notes the holdable cursors and prepared statements a revision creates. */
static void
residue_utility_hook(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
					 ProcessUtilityContext context, ParamListInfo params,
					 QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *stmt = pstmt->utilityStmt;

	if (previous_utility_hook)
		previous_utility_hook(pstmt, queryString, readOnlyTree, context, params,
							  queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context, params,
								queryEnv, dest, qc);

	/* after it succeeded: a DECLARE that failed on a caller's name is not the revision's */
	if (watching)
	{
		MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);

		if (IsA(stmt, DeclareCursorStmt) &&
			(((DeclareCursorStmt *) stmt)->options & CURSOR_OPT_HOLD) != 0)
			declared_cursors = lappend(declared_cursors,
									   pstrdup(((DeclareCursorStmt *) stmt)->portalname));
		else if (IsA(stmt, PrepareStmt))
			prepared_statements = lappend(prepared_statements,
										  pstrdup(((PrepareStmt *) stmt)->name));
		MemoryContextSwitchTo(old);
	}
}

/* Forgets what a transaction's revisions declared, with the transaction. */
static void
residue_xact_callback(XactEvent event, void *arg pg_attribute_unused())
{
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
		event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_PARALLEL_ABORT ||
		event == XACT_EVENT_PREPARE)
	{
		watching = false;
		declared_cursors = NIL;
		prepared_statements = NIL;
	}
}

/* Installs the utility hook and the transaction callback. */
void
residue_init(void)
{
	previous_utility_hook = ProcessUtility_hook;
	ProcessUtility_hook = residue_utility_hook;
	RegisterXactCallback(residue_xact_callback, NULL);
}

/* Whether an object is one of the n objects. */
static bool
address_listed(const ObjectAddress *objects, int n, const ObjectAddress *object)
{
	for (int i = 0; i < n; i++)
		if (objects[i].classId == object->classId &&
			objects[i].objectId == object->objectId &&
			objects[i].objectSubId == object->objectSubId)
			return true;
	return false;
}

/*
 * Marks the session as it is before a revision runs: opens the revision's
 * setting scope, in which standard_conforming_strings is on whatever the
 * session says (the SQL was checked that way at add), notes the temporary
 * objects there are, and starts watching for cursors and prepared statements.
 */
void
residue_mark(SessionMark *mark)
{
	mark->guc_nestlevel = NewGUCNestLevel();
	residue_force_standard_strings();
	mark->temp_namespace = temp_namespace();
	mark->temp = temp_objects(mark->temp_namespace, &mark->ntemp);
	declared_cursors = NIL;
	prepared_statements = NIL;
	watching = true;
}

/* Turns standard_conforming_strings back on if the revision turned it off. */
void
residue_force_standard_strings(void)
{
	if (!standard_conforming_strings)
		(void) set_config_option("standard_conforming_strings", "on",
								 PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
}

/*
 * An object's description with the session's temporary schema called
 * pg_temp, as the revision wrote it, rather than pg_temp_N.
 */
static char *
temp_object_description(const ObjectAddress *object, Oid namespace)
{
	char	   *description = getObjectDescription(object, false);
	char	   *schema = psprintf("%s.", get_namespace_name(namespace));
	char	   *found = strstr(description, schema);

	if (found == NULL)
		return description;
	return psprintf("%.*spg_temp.%s", (int) (found - description), description,
					found + strlen(schema));
}

/* Refuses a temporary object that the revision created and left. */
static void
refuse_new_temp_objects(SessionMark *mark)
{
	Oid			namespace = temp_namespace();
	int			n;
	ObjectAddress *now = temp_objects(namespace, &n);

	for (int i = 0; i < n; i++)
		if (!address_listed(mark->temp, mark->ntemp, &now[i]))
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("a revision may not leave temporary objects behind"),
					 errdetail("The revision created %s and did not drop it.",
							   temp_object_description(&now[i], namespace)),
					 errhint("Drop temporary objects before the revision ends: they would outlive it in the caller's session.")));
}

/* Refuses a holdable cursor or prepared statement that the revision left. */
static void
refuse_new_portals(void)
{
	ListCell   *lc;

	watching = false;
	foreach(lc, declared_cursors)
	{
		const char *name = lfirst(lc);
		Portal		portal = GetPortalByName(name);

		if (PortalIsValid(portal) && (portal->cursorOptions & CURSOR_OPT_HOLD) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("a revision may not leave a holdable cursor open"),
					 errdetail("The revision declared cursor \"%s\" WITH HOLD and did not close it.", name),
					 errhint("Close the cursor before the revision ends: it would be read later in the caller's session.")));
	}
	foreach(lc, prepared_statements)
	{
		const char *name = lfirst(lc);

		if (FetchPreparedStatement(name, false) == NULL)
			continue;
		/* a prepared statement is not rolled back with the error: drop it */
		DropPreparedStatement(name, false);
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("a revision may not leave a prepared statement behind"),
				 errdetail("The revision prepared statement \"%s\" and did not deallocate it.", name),
				 errhint("Deallocate it before the revision ends: it would run later in the caller's session.")));
	}
}

/*
 * Ends a revision: fires its deferred constraints and triggers (their
 * failure is the revision's), refuses what it left in the session, and
 * undoes its setting changes as a function's SET clause does.  Runs as the
 * caller, inside the revision's error context.
 */
void
residue_check(SessionMark *mark)
{
	ConstraintsSetStmt all_immediate = {T_ConstraintsSetStmt, NIL, false};

	/* the last statement's work visible, as SPI does before a statement */
	CommandCounterIncrement();
	/* what SET CONSTRAINTS ALL IMMEDIATE does, without parsing it each time */
	PushActiveSnapshot(GetTransactionSnapshot());
	AfterTriggerSetState(&all_immediate);
	PopActiveSnapshot();
	refuse_new_portals();
	refuse_new_temp_objects(mark);
	AtEOXact_GUC(false, mark->guc_nestlevel);
}
