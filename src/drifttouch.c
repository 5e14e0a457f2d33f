/*
 * drifttouch.c
 *		What a call's revisions touched: the relations, functions, types and
 *		schemas ("roots" of the schema model) whose objects their DDL created,
 *		changed or dropped, collected by the extension's event triggers while
 *		a revision runs, so that drift.c re-reads only those at the end of the
 *		call instead of the whole model twice.
 *
 * The event triggers see each command's objects (pg_event_trigger_ddl_commands()
 * and pg_event_trigger_dropped_objects(), called directly, without SPI:
 * they fire for every statement of every revision).  An object maps to its
 * root: an index, a column, a constraint, a trigger, a policy or a default
 * to its table, a composite type's relation and an array to their type.  A
 * rename or a move also touches the objects whose definitions name the
 * renamed one (pg_depend); an ALTER TABLE, the table's indexes and sequences
 * (their owner, their schema).  A dropped index or the table of a dropped
 * column, constraint, trigger or policy is kept by name ("i:" and "r:"
 * candidates), as the catalog no longer has them.  An object access hook
 * notes every object created while a revision runs: for a statement that
 * only creates, that is all it touched, and the event trigger does not ask
 * for the commands (whose identity strings cost more than the rest of the
 * collecting).  A statement run by the background worker collects there and
 * sends what it touched to the leader.
 */
#include "migrate.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/catalog.h"
#include "catalog/dependency.h"
#include "catalog/index.h"
#include "catalog/indexing.h"
#include "catalog/objectaccess.h"
#include "catalog/objectaddress.h"
#include "catalog/pg_attrdef.h"
#include "catalog/pg_class.h"
#include "catalog/pg_constraint.h"
#include "catalog/pg_depend.h"
#include "catalog/pg_event_trigger.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_policy.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_rewrite.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_type.h"
#include "commands/event_trigger.h"
#include "commands/extension.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "parser/parse_func.h"
#include "tcop/deparse_utility.h"
#include "utils/aclchk_internal.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"

/* Where the event triggers put what the running call's revisions touch. */
DriftTouched *drift_collector = NULL;

/* A new, empty set of touched roots, allocated in cxt. */
DriftTouched *
drifttouch_new(MemoryContext cxt)
{
	DriftTouched *t = MemoryContextAllocZero(cxt, sizeof(DriftTouched));

	t->cxt = cxt;
	return t;
}

/* Adds a root (DRIFT_ROOT_*) by OID. */
static void
touch_root(DriftTouched *t, int group, Oid oid)
{
	MemoryContext old;

	if (!OidIsValid(oid))
		return;
	old = MemoryContextSwitchTo(t->cxt);
	t->roots[group] = lappend_oid(t->roots[group], oid);
	MemoryContextSwitchTo(old);
}

/* Adds a candidate by name: "r:" a relation, "i:" a dropped index. */
static void
touch_candidate(DriftTouched *t, char prefix, const char *identity)
{
	MemoryContext old = MemoryContextSwitchTo(t->cxt);

	t->candidates = lappend(t->candidates, psprintf("%c:%s", prefix, identity));
	MemoryContextSwitchTo(old);
}

/* The relation or type a relation's objects belong to in the model. */
static void
touch_relation(DriftTouched *t, Oid relid)
{
	switch (get_rel_relkind(relid))
	{
		case RELKIND_INDEX:
		case RELKIND_PARTITIONED_INDEX:
			{
				Oid			table = IndexGetRelation(relid, true);

				/* a TOAST table's index is not in the model */
				if (get_rel_relkind(table) != RELKIND_TOASTVALUE)
					touch_root(t, DRIFT_ROOT_REL, table);
			}
			break;
		case RELKIND_COMPOSITE_TYPE:
			touch_root(t, DRIFT_ROOT_TYPE, get_rel_type_id(relid));
			break;
		case RELKIND_TOASTVALUE:
		case '\0':
			break;
		default:
			touch_root(t, DRIFT_ROOT_REL, relid);
	}
}

/* The root of a type: a table's row type is the table, an array its element. */
static void
touch_type(DriftTouched *t, Oid typid)
{
	Oid			elem = get_element_type(typid);
	Oid			relid;

	if (OidIsValid(elem))
		typid = elem;
	relid = get_typ_typrelid(typid);
	if (OidIsValid(relid) && get_rel_relkind(relid) != RELKIND_COMPOSITE_TYPE)
		touch_relation(t, relid);
	else
		touch_root(t, DRIFT_ROOT_TYPE, typid);
}

/*
 * The relation an object of a catalog without a syscache by OID belongs to
 * (a trigger, a policy, a default, a rule), or InvalidOid: by the catalog's
 * OID index (pg_attrdef is not among the catalogs getObjectIdentity() knows).
 */
static Oid
owning_relation(Oid catalog_id, Oid oid_index, AttrNumber oid_column, AttrNumber rel_column, Oid objid)
{
	Relation	catalog = table_open(catalog_id, AccessShareLock);
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	Oid			relid = InvalidOid;

	ScanKeyInit(&key, oid_column, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(objid));
	scan = systable_beginscan(catalog, oid_index, true, NULL, 1, &key);
	if (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		bool		isnull;
		Datum		d = heap_getattr(tup, rel_column, RelationGetDescr(catalog), &isnull);

		relid = isnull ? InvalidOid : DatumGetObjectId(d);
	}
	systable_endscan(scan);
	table_close(catalog, AccessShareLock);
	return relid;
}

/* Adds the root of an object given by its catalog and OID, when modelled. */
void
drifttouch_address(DriftTouched *t, Oid classid, Oid objid)
{
	HeapTuple	tup;

	switch (classid)
	{
		case RelationRelationId:
			touch_relation(t, objid);
			break;
		case ProcedureRelationId:
			touch_root(t, DRIFT_ROOT_PROC, objid);
			break;
		case TypeRelationId:
			touch_type(t, objid);
			break;
		case NamespaceRelationId:
			touch_root(t, DRIFT_ROOT_SCHEMA, objid);
			break;
		case ConstraintRelationId:
			tup = SearchSysCache1(CONSTROID, ObjectIdGetDatum(objid));
			if (!HeapTupleIsValid(tup))
				break;
			if (OidIsValid(((Form_pg_constraint) GETSTRUCT(tup))->conrelid))
				touch_relation(t, ((Form_pg_constraint) GETSTRUCT(tup))->conrelid);
			else
				touch_type(t, ((Form_pg_constraint) GETSTRUCT(tup))->contypid);
			ReleaseSysCache(tup);
			break;
		case TriggerRelationId:
			touch_relation(t, owning_relation(TriggerRelationId, TriggerOidIndexId, Anum_pg_trigger_oid,
											  Anum_pg_trigger_tgrelid, objid));
			break;
		case PolicyRelationId:
			touch_relation(t, owning_relation(PolicyRelationId, PolicyOidIndexId, Anum_pg_policy_oid,
											  Anum_pg_policy_polrelid, objid));
			break;
		case AttrDefaultRelationId:
			touch_relation(t, owning_relation(AttrDefaultRelationId, AttrDefaultOidIndexId, Anum_pg_attrdef_oid,
											  Anum_pg_attrdef_adrelid, objid));
			break;
		case RewriteRelationId:
			touch_relation(t, owning_relation(RewriteRelationId, RewriteOidIndexId, Anum_pg_rewrite_oid,
											  Anum_pg_rewrite_ev_class, objid));
			break;
		default:
			/* not in the model: operators, casts, publications, ... */
			break;
	}
}

/*
 * Touches the objects that depend on one (pg_depend), whose definitions may
 * name it; only those in pg_class when relations_only (a table's indexes and
 * sequences).
 */
static void
touch_dependents(DriftTouched *t, Oid classid, Oid objid, bool relations_only)
{
	Relation	depend = table_open(DependRelationId, AccessShareLock);
	ScanKeyData key[2];
	SysScanDesc scan;
	HeapTuple	tup;

	ScanKeyInit(&key[0], Anum_pg_depend_refclassid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(classid));
	ScanKeyInit(&key[1], Anum_pg_depend_refobjid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(objid));
	scan = systable_beginscan(depend, DependReferenceIndexId, true, NULL, 2, key);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Form_pg_depend dep = (Form_pg_depend) GETSTRUCT(tup);

		if (dep->deptype == DEPENDENCY_EXTENSION ||
			(relations_only && dep->classid != RelationRelationId))
			continue;
		drifttouch_address(t, dep->classid, dep->objid);
	}
	systable_endscan(scan);
	table_close(depend, AccessShareLock);
}

/* The roots of the objects a GRANT or REVOKE changed. */
static void
touch_grant(DriftTouched *t, InternalGrant *istmt)
{
	ListCell   *lc;

	foreach(lc, istmt->objects)
	{
		Oid			objid = lfirst_oid(lc);

		switch (istmt->objtype)
		{
			case OBJECT_TABLE:
			case OBJECT_SEQUENCE:
				touch_relation(t, objid);
				break;
			case OBJECT_FUNCTION:
			case OBJECT_PROCEDURE:
			case OBJECT_ROUTINE:
				touch_root(t, DRIFT_ROOT_PROC, objid);
				break;
			case OBJECT_TYPE:
			case OBJECT_DOMAIN:
				touch_type(t, objid);
				break;
			case OBJECT_SCHEMA:
				touch_root(t, DRIFT_ROOT_SCHEMA, objid);
				break;
			default:
				break;
		}
	}
}

/* The roots of one collected DDL command. */
static void
touch_command(DriftTouched *t, CollectedCommand *cmd)
{
	if (cmd->in_extension)
		return;
	switch (cmd->type)
	{
		case SCT_Simple:
			drifttouch_address(t, cmd->d.simple.address.classId, cmd->d.simple.address.objectId);
			/* a rename or a move changes the definitions that name the object */
			if (cmd->parsetree != NULL &&
				(IsA(cmd->parsetree, RenameStmt) || IsA(cmd->parsetree, AlterObjectSchemaStmt) ||
				 IsA(cmd->parsetree, AlterOwnerStmt)))
				touch_dependents(t, cmd->d.simple.address.classId,
								 cmd->d.simple.address.objectId, false);
			break;
		case SCT_AlterTable:
			drifttouch_address(t, cmd->d.alterTable.classId, cmd->d.alterTable.objectId);
			if (cmd->d.alterTable.classId == RelationRelationId)
				touch_dependents(t, RelationRelationId, cmd->d.alterTable.objectId, true);
			break;
		case SCT_Grant:
			touch_grant(t, cmd->d.grant.istmt);
			break;
		default:
			/* operator classes and families, text search, default privileges */
			break;
	}
}

/*
 * Calls an event trigger support function (a set-returning function of no
 * argument) directly, into a tuplestore: cheaper than a query through SPI
 * for every statement of every revision.
 */
static void
call_event_function(Oid fnoid, ReturnSetInfo *rsinfo)
{
	FmgrInfo	flinfo;

	LOCAL_FCINFO(fcinfo, 0);

	fmgr_info(fnoid, &flinfo);
	memset(rsinfo, 0, sizeof(*rsinfo));
	rsinfo->type = T_ReturnSetInfo;
	rsinfo->econtext = CreateStandaloneExprContext();
	rsinfo->allowedModes = SFRM_Materialize;
	InitFunctionCallInfoData(*fcinfo, &flinfo, 0, InvalidOid, NULL, (Node *) rsinfo);
	(void) FunctionCallInvoke(fcinfo);
}

/* Reads the tuplestore of call_event_function() row by row into slot. */
static TupleTableSlot *
event_rows_slot(ReturnSetInfo *rsinfo)
{
	return MakeSingleTupleTableSlot(rsinfo->setDesc, &TTSOpsMinimalTuple);
}

/* Frees what call_event_function() allocated. */
static void
event_rows_end(ReturnSetInfo *rsinfo, TupleTableSlot *slot)
{
	ExecDropSingleTupleTableSlot(slot);
	if (rsinfo->setResult != NULL)
		tuplestore_end(rsinfo->setResult);
	FreeExprContext(rsinfo->econtext, true);
}

/*
 * The commands collected for the ddl_command_end that fires: the "command"
 * column (the last) of pg_event_trigger_ddl_commands(), valid until the
 * event ends.
 */
static List *
collected_commands(void)
{
	ReturnSetInfo rsinfo;
	TupleTableSlot *slot;
	List	   *commands = NIL;

	call_event_function(F_PG_EVENT_TRIGGER_DDL_COMMANDS, &rsinfo);
	if (rsinfo.setResult == NULL)
		return NIL;
	slot = event_rows_slot(&rsinfo);
	while (tuplestore_gettupleslot(rsinfo.setResult, true, false, slot))
	{
		bool		isnull;
		Datum		command = slot_getattr(slot, rsinfo.setDesc->natts, &isnull);

		if (!isnull)
			commands = lappend(commands, DatumGetPointer(command));
	}
	event_rows_end(&rsinfo, slot);
	return commands;
}

/* The catalog of a GRANT's objects of one type, or InvalidOid when not modelled. */
static Oid
grant_catalog(ObjectType objtype)
{
	switch (objtype)
	{
		case OBJECT_TABLE:
		case OBJECT_SEQUENCE:
			return RelationRelationId;
		case OBJECT_FUNCTION:
		case OBJECT_PROCEDURE:
		case OBJECT_ROUTINE:
			return ProcedureRelationId;
		case OBJECT_TYPE:
		case OBJECT_DOMAIN:
			return TypeRelationId;
		case OBJECT_SCHEMA:
			return NamespaceRelationId;
		default:
			return InvalidOid;
	}
}

/*
 * The objects of the GRANT or REVOKE that fired ddl_command_end, which
 * pg_event_trigger_ddl_commands() does not name: their types, identities and
 * schemas (a schema's own name for a schema), as parallel lists.
 */
void
drifttouch_grant_objects(List **types, List **identities, List **schemas)
{
	ListCell   *cl;

	*types = *identities = *schemas = NIL;
	foreach(cl, collected_commands())
	{
		CollectedCommand *cmd = lfirst(cl);
		ListCell   *lc;

		if (cmd->type != SCT_Grant || cmd->in_extension ||
			!OidIsValid(grant_catalog(cmd->d.grant.istmt->objtype)))
			continue;
		foreach(lc, cmd->d.grant.istmt->objects)
		{
			ObjectAddress addr;
			char	   *identity;
			Oid			nsp;

			ObjectAddressSet(addr, grant_catalog(cmd->d.grant.istmt->objtype), lfirst_oid(lc));
			identity = getObjectIdentity(&addr, true);
			if (identity == NULL)
				continue;
			nsp = addr.classId == NamespaceRelationId ? addr.objectId : get_object_namespace(&addr);
			*types = lappend(*types, getObjectTypeDescription(&addr, true));
			*identities = lappend(*identities, identity);
			*schemas = lappend(*schemas, OidIsValid(nsp) ? get_namespace_name(nsp) : pstrdup(""));
		}
	}
}

/*
 * The roots of the objects created since the last call (the object access
 * hook).  With relations_only, only the relations are kept, as they are:
 * which is an index of which table is looked up when the call ends
 * (drifttouch_created()), in the transaction that reads the model, whose
 * caches keep the entries the read needs again; a lookup now would load
 * entries that the commit of a deploy's revision throws away.
 */
static void
created_roots(DriftTouched *t, bool relations_only)
{
	List	   *classes = t->created_classes;
	List	   *objects = t->created_objects;
	ListCell   *c;
	ListCell   *o;

	t->created_classes = t->created_objects = NIL;
	forboth(c, classes, o, objects)
	{
		if (!relations_only)
			drifttouch_address(t, lfirst_oid(c), lfirst_oid(o));
		else if (lfirst_oid(c) == RelationRelationId)
		{
			MemoryContext old = MemoryContextSwitchTo(t->cxt);

			t->created_relations = lappend_oid(t->created_relations, lfirst_oid(o));
			MemoryContextSwitchTo(old);
		}
	}
	list_free(classes);
	list_free(objects);
}

/*
 * The roots of the objects created since the last call (the object access
 * hook), and of the relations kept by created_roots().
 */
void
drifttouch_created(DriftTouched *t)
{
	List	   *relations = t->created_relations;
	ListCell   *lc;

	created_roots(t, false);
	t->created_relations = NIL;
	foreach(lc, relations)
		touch_relation(t, lfirst_oid(lc));
	list_free(relations);
}

/*
 * Whether a statement only creates objects: then the objects the object
 * access hook saw it create are all it touched.  CREATE OR REPLACE, CREATE
 * SCHEMA with elements (a GRANT may be one) and anything else are read
 * from the collected commands as well.  *relations_only: everything else it
 * creates (row types and their arrays, constraints, defaults, rules) belongs
 * to a relation it creates.
 */
static bool
creates_only(EventTriggerData *trigdata, bool *relations_only)
{
	Node	   *stmt = trigdata->parsetree;

	*relations_only = false;
	switch (trigdata->tag)
	{
		case CMDTAG_CREATE_TABLE:
		case CMDTAG_CREATE_INDEX:
		case CMDTAG_CREATE_SEQUENCE:
			*relations_only = true;
			return true;
		case CMDTAG_CREATE_TYPE:
		case CMDTAG_CREATE_DOMAIN:
		case CMDTAG_CREATE_POLICY:
			return true;
		case CMDTAG_CREATE_SCHEMA:
			return stmt != NULL && IsA(stmt, CreateSchemaStmt) &&
				((CreateSchemaStmt *) stmt)->schemaElts == NIL;
		case CMDTAG_CREATE_VIEW:
			*relations_only = true;
			return stmt != NULL && IsA(stmt, ViewStmt) && !((ViewStmt *) stmt)->replace;
		case CMDTAG_CREATE_FUNCTION:
		case CMDTAG_CREATE_PROCEDURE:
			return stmt != NULL && IsA(stmt, CreateFunctionStmt) &&
				!((CreateFunctionStmt *) stmt)->replace;
		case CMDTAG_CREATE_TRIGGER:
			return stmt != NULL && IsA(stmt, CreateTrigStmt) && !((CreateTrigStmt *) stmt)->replace;
		default:
			return false;
	}
}

/*
 * At ddl_command_end in a revision: the roots of the command's objects.
 * pg_event_trigger_ddl_commands() builds every command's identity strings,
 * which the collector does not need: for a statement that only creates, the
 * objects the object access hook saw created are enough.
 */
void
drifttouch_commands(DriftTouched *t, EventTriggerData *trigdata)
{
	ListCell   *lc;
	bool		relations_only;

	if (creates_only(trigdata, &relations_only))
	{
		created_roots(t, relations_only);
		return;
	}
	created_roots(t, false);
	foreach(lc, collected_commands())
		touch_command(t, (CollectedCommand *) lfirst(lc));
}

static object_access_hook_type next_object_access_hook = NULL;

/*
 * The object access hook: notes each object created while a revision runs,
 * by catalog and OID, for drifttouch_created() (the catalog rows are not
 * all visible yet when the hook runs).
 */
static void
note_created(ObjectAccessType access, Oid classId, Oid objectId, int subId, void *arg)
{
	if (next_object_access_hook)
		next_object_access_hook(access, classId, objectId, subId, arg);
	if (access == OAT_POST_CREATE && migrate_in_revision && drift_collector != NULL &&
		!creating_extension && !(arg != NULL && ((ObjectAccessPostCreate *) arg)->is_internal))
	{
		MemoryContext old = MemoryContextSwitchTo(drift_collector->cxt);

		drift_collector->created_classes = lappend_oid(drift_collector->created_classes, classId);
		drift_collector->created_objects = lappend_oid(drift_collector->created_objects, objectId);
		MemoryContextSwitchTo(old);
	}
}

/* Installs the object access hook. */
void
drifttouch_init(void)
{
	next_object_access_hook = object_access_hook;
	object_access_hook = note_created;
}

/* A text column of a dropped object's row, or NULL. */
static char *
slot_text(TupleTableSlot *slot, int attnum)
{
	bool		isnull;
	Datum		d = slot_getattr(slot, attnum, &isnull);

	return isnull ? NULL : TextDatumGetCString(d);
}

/*
 * The schema-qualified, quoted name of the relation a dropped object
 * belonged to, from its address_names (schema, relation, name), or NULL.
 */
static char *
parent_relation(TupleTableSlot *slot, int attnum)
{
	bool		isnull;
	Datum		d = slot_getattr(slot, attnum, &isnull);
	Datum	   *names;
	int			n;
	char	   *result = NULL;

	if (isnull)
		return NULL;
	deconstruct_array(DatumGetArrayTypeP(d), TEXTOID, -1, false, TYPALIGN_INT,
					  &names, NULL, &n);
	if (n >= 3)
		result = quote_qualified_identifier(TextDatumGetCString(names[0]),
											TextDatumGetCString(names[1]));
	return result;
}

/* Columns of pg_event_trigger_dropped_objects(), from 1. */
#define DROPPED_CLASSID		1
#define DROPPED_OBJID		2
#define DROPPED_TEMPORARY	6
#define DROPPED_TYPE		7
#define DROPPED_IDENTITY	10
#define DROPPED_NAMES		11

/* The roots of one dropped object. */
static void
touch_dropped(DriftTouched *t, TupleTableSlot *slot)
{
	bool		isnull;
	Oid			classid = DatumGetObjectId(slot_getattr(slot, DROPPED_CLASSID, &isnull));
	Oid			objid = DatumGetObjectId(slot_getattr(slot, DROPPED_OBJID, &isnull));
	char	   *type = slot_text(slot, DROPPED_TYPE);
	char	   *parent;

	if (DatumGetBool(slot_getattr(slot, DROPPED_TEMPORARY, &isnull)) || type == NULL)
		return;
	if (strcmp(type, "index") == 0)
		touch_candidate(t, 'i', slot_text(slot, DROPPED_IDENTITY));
	else if (classid == RelationRelationId && strcmp(type, "table column") != 0)
	{
		/* a composite type's relation: its pg_type row is dropped too, below */
		if (strcmp(type, "composite type") != 0)
			touch_root(t, DRIFT_ROOT_REL, objid);
	}
	else if (classid == ProcedureRelationId)
		touch_root(t, DRIFT_ROOT_PROC, objid);
	else if (classid == TypeRelationId)
		touch_root(t, DRIFT_ROOT_TYPE, objid);
	else if (classid == NamespaceRelationId)
		touch_root(t, DRIFT_ROOT_SCHEMA, objid);
	else if ((parent = parent_relation(slot, DROPPED_NAMES)) != NULL &&
			 (classid == RelationRelationId || classid == ConstraintRelationId ||
			  classid == TriggerRelationId || classid == PolicyRelationId ||
			  classid == AttrDefaultRelationId || classid == RewriteRelationId))
		touch_candidate(t, 'r', parent);
}

/* At sql_drop in a revision: the roots of the dropped objects. */
void
drifttouch_dropped(DriftTouched *t)
{
	ReturnSetInfo rsinfo;
	TupleTableSlot *slot;

	call_event_function(F_PG_EVENT_TRIGGER_DROPPED_OBJECTS, &rsinfo);
	if (rsinfo.setResult == NULL)
		return;
	slot = event_rows_slot(&rsinfo);
	while (tuplestore_gettupleslot(rsinfo.setResult, true, false, slot))
		touch_dropped(t, slot);
	event_rows_end(&rsinfo, slot);
}

/*
 * The set as text, for the background worker's message to the leader: one
 * line per root ("<group> <oid>"), candidate ("c <candidate>"), relation
 * created ("n <oid>") or other object created and not yet mapped to its
 * root ("o <catalog> <oid>"): the worker sends it outside a transaction,
 * the leader maps them when its call ends.
 */
char *
drifttouch_serialize(DriftTouched *t)
{
	StringInfoData buf;
	ListCell   *lc;
	ListCell   *lc2;

	initStringInfo(&buf);
	for (int g = 0; g < DRIFT_ROOT_GROUPS; g++)
		foreach(lc, t->roots[g])
			appendStringInfo(&buf, "%d %u\n", g, lfirst_oid(lc));
	foreach(lc, t->candidates)
		appendStringInfo(&buf, "c %s\n", (char *) lfirst(lc));
	foreach(lc, t->created_relations)
		appendStringInfo(&buf, "n %u\n", lfirst_oid(lc));
	forboth(lc, t->created_classes, lc2, t->created_objects)
		appendStringInfo(&buf, "o %u %u\n", lfirst_oid(lc), lfirst_oid(lc2));
	return buf.data;
}

/* Adds a set written by drifttouch_serialize() to t. */
void
drifttouch_deserialize(DriftTouched *t, const char *text)
{
	char	   *copy = pstrdup(text);
	char	   *save = NULL;

	for (char *line = strtok_r(copy, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save))
	{
		MemoryContext old;
		char	   *end;

		if (line[0] == 'c' && line[1] == ' ' && line[2] != '\0' && line[3] == ':')
			touch_candidate(t, line[2], line + 4);
		else if (line[0] >= '0' && line[0] < '0' + DRIFT_ROOT_GROUPS && line[1] == ' ')
			touch_root(t, line[0] - '0', (Oid) strtoul(line + 2, NULL, 10));
		else if (line[0] == 'n' && line[1] == ' ')
		{
			old = MemoryContextSwitchTo(t->cxt);
			t->created_relations = lappend_oid(t->created_relations, (Oid) strtoul(line + 2, NULL, 10));
			MemoryContextSwitchTo(old);
		}
		else if (line[0] == 'o' && line[1] == ' ')
		{
			Oid			classid = (Oid) strtoul(line + 2, &end, 10);

			old = MemoryContextSwitchTo(t->cxt);
			t->created_classes = lappend_oid(t->created_classes, classid);
			t->created_objects = lappend_oid(t->created_objects, (Oid) strtoul(end, NULL, 10));
			MemoryContextSwitchTo(old);
		}
	}
	pfree(copy);
}

/*
 * Whether migrate's event triggers fire in this session, so that they see
 * the revisions' DDL: both enabled for this session's replication role, and
 * not in single-user mode (where no event trigger fires).
 */
bool
drifttouch_triggers_fire(void)
{
	Oid			fn;
	Oid			argtypes[1];
	Relation	rel;
	SysScanDesc scan;
	HeapTuple	tup;
	int			firing = 0;

	if (!IsUnderPostmaster)
		return false;
	fn = LookupFuncName(list_make2(makeString("migrate"), makeString("record_ddl")), 0, argtypes, true);
	if (!OidIsValid(fn))
		return false;
	rel = table_open(EventTriggerRelationId, AccessShareLock);
	scan = systable_beginscan(rel, InvalidOid, false, NULL, 0, NULL);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Form_pg_event_trigger evt = (Form_pg_event_trigger) GETSTRUCT(tup);

		if (evt->evtfoid != fn)
			continue;
		if (evt->evtenabled == TRIGGER_FIRES_ALWAYS ||
			(evt->evtenabled == TRIGGER_FIRES_ON_ORIGIN &&
			 SessionReplicationRole != SESSION_REPLICATION_ROLE_REPLICA) ||
			(evt->evtenabled == TRIGGER_FIRES_ON_REPLICA &&
			 SessionReplicationRole == SESSION_REPLICATION_ROLE_REPLICA))
			firing++;
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return firing == 2;
}
