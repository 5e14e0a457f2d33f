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
 * The session's holdable cursors and prepared statements, one "kind name
 * time" string each: the time tells a cursor the revision closed and
 * declared again under the same name from the caller's.  Runs as the caller,
 * outside the catalog scope (it reads no table): every name is qualified,
 * and the query uses no operator the caller's search_path could capture.
 */
static char **
session_portals(int *count)
{
	static SPIPlanPtr plan = NULL;
	MemoryContext caller_cxt = CurrentMemoryContext;
	char	  **keys;

	if (plan == NULL)
	{
		SPIPlanPtr	prepared = SPI_prepare("SELECT 'cursor'::pg_catalog.text, c.name, c.creation_time"
										   " FROM pg_catalog.pg_cursor() c WHERE c.is_holdable"
										   " UNION ALL"
										   " SELECT 'prepared statement'::pg_catalog.text, p.name, p.prepare_time"
										   " FROM pg_catalog.pg_prepared_statement() p",
										   0, NULL);

		if (prepared == NULL || SPI_keepplan(prepared) != 0)
			elog(ERROR, "could not prepare the session portal query");
		plan = prepared;
	}
	if (SPI_execute_plan(plan, NULL, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not list the session's cursors");
	MemoryContextSwitchTo(caller_cxt);
	*count = (int) SPI_processed;
	keys = palloc(sizeof(char *) * Max(*count, 1));
	for (int i = 0; i < *count; i++)
	{
		HeapTuple	tuple = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;

		keys[i] = psprintf("%s \"%s\" %s", SPI_getvalue(tuple, desc, 1),
						   SPI_getvalue(tuple, desc, 2), SPI_getvalue(tuple, desc, 3));
	}
	SPI_freetuptable(SPI_tuptable);
	return keys;
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

/* Whether a key is one of the n keys. */
static bool
key_listed(char **keys, int n, const char *key)
{
	for (int i = 0; i < n; i++)
		if (strcmp(keys[i], key) == 0)
			return true;
	return false;
}

/*
 * Marks the session as it is before a revision runs: opens the revision's
 * setting scope, in which standard_conforming_strings is on whatever the
 * session says (the SQL was checked that way at add), and notes the
 * temporary objects, holdable cursors and prepared statements there are.
 */
void
residue_mark(SessionMark *mark)
{
	mark->guc_nestlevel = NewGUCNestLevel();
	residue_force_standard_strings();
	mark->temp_namespace = temp_namespace();
	mark->temp = temp_objects(mark->temp_namespace, &mark->ntemp);
	mark->portals = session_portals(&mark->nportals);
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
refuse_new_portals(SessionMark *mark)
{
	int			n;
	char	  **now = session_portals(&n);

	for (int i = 0; i < n; i++)
		if (!key_listed(mark->portals, mark->nportals, now[i]))
		{
			bool		cursor = strncmp(now[i], "cursor ", 7) == 0;
			char	   *name = pstrdup(strchr(now[i], '"') + 1);

			*strrchr(name, '"') = '\0';
			/* a prepared statement is not rolled back with the error: drop it */
			if (!cursor)
				DropPreparedStatement(name, false);
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 cursor ?
					 errmsg("a revision may not leave a holdable cursor open") :
					 errmsg("a revision may not leave a prepared statement behind"),
					 cursor ?
					 errdetail("The revision declared cursor \"%s\" WITH HOLD and did not close it.", name) :
					 errdetail("The revision prepared statement \"%s\" and did not deallocate it.", name),
					 cursor ?
					 errhint("Close the cursor before the revision ends: it would be read later in the caller's session.") :
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
	refuse_new_portals(mark);
	refuse_new_temp_objects(mark);
	AtEOXact_GUC(false, mark->guc_nestlevel);
}
