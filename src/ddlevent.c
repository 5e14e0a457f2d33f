/*
 * ddlevent.c
 *		DDL run outside migrate, recorded as it happens: the function of the
 *		extension's event triggers (ddl_command_end, sql_drop), the staging
 *		table it writes, and the move of staged events into migrate.history.
 *
 * The trigger never takes the deploy lock and never waits for a deploy: it
 * only INSERTs into migrate.drift_event, as the extension owner (so that a
 * role without any right on migrate's tables still gets its DDL recorded).
 * The next migrate call that appends history, under the deploy lock, moves
 * the staged events into migrate.history as "drift" rows, in their order,
 * keeping who, when and from where, hash-chained like every row.
 *
 * Not recorded: statements of migrate's own revisions (in this backend, or
 * in the background worker, which runs nothing else), CREATE and ALTER
 * EXTENSION, temporary objects, objects outside the managed schemas, DDL
 * before any model is recorded (the baseline will hold it: so the first part
 * of a restore, before the dump's recorded model is loaded, is quiet), and a
 * superuser's pg_restore.
 */
#include "migrate.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/event_trigger.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/timestamp.h"

/* migrate.record_drift: whether the event triggers record DDL */
bool		migrate_record_drift = true;

/* Set while a revision's SQL runs (and for a whole background worker). */
bool		migrate_in_revision = false;

/* migrate_in_revision was set for the rest of the transaction: an offline script's. */
static bool in_script = false;

/* This session skipped DDL while recording was paused, and said so. */
static bool pause_recorded = false;

/* The longest statement text staged; longer ones are cut. */
#define EVENT_STATEMENT_MAX 65536

static void script_xact_callback(XactEvent event, void *arg);

/* Defines migrate.record_drift. */
void
ddlevent_init(void)
{
	DefineCustomBoolVariable("migrate.record_drift",
							 "Whether DDL run outside migrate is recorded in migrate.history as it happens.",
							 "Off pauses recording for a maintenance window; the first DDL skipped in a session, and the first recorded again, are recorded as paused and resumed.",
							 &migrate_record_drift,
							 true,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);
	RegisterXactCallback(script_xact_callback, NULL);
}

/*
 * From now until the transaction ends, DDL is migrate's own, as a
 * revision's: what an offline script runs after migrate.offline_begin().
 */
void
ddlevent_script_begin(void)
{
	migrate_in_revision = true;
	in_script = true;
}

/* Ends an offline script's revisions with its transaction, however it ends. */
static void
script_xact_callback(XactEvent event, void *arg)
{
	(void) arg;
	if (in_script && (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
					  event == XACT_EVENT_PREPARE || event == XACT_EVENT_PARALLEL_COMMIT ||
					  event == XACT_EVENT_PARALLEL_ABORT))
	{
		migrate_in_revision = false;
		in_script = false;
		/* the script's collector lived in its transaction's memory */
		drift_collector = NULL;
	}
}

/*
 * The managed-schema test of the trigger's queries, on the schema name s:
 * never a temporary schema; $1 the managed schemas, NULL the default set.
 */
#define MANAGED(s) \
	"(" s " NOT LIKE 'pg\\_temp%' AND " s " NOT LIKE 'pg\\_toast\\_temp%' AND CASE WHEN $1 IS NULL THEN" \
	"   " s " <> ALL ('{pg_catalog,information_schema,migrate}') AND " s " NOT LIKE 'pg\\_toast%'" \
	"   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace n JOIN pg_catalog.pg_depend e" \
	"                     ON e.classid = 'pg_catalog.pg_namespace'::pg_catalog.regclass" \
	"                    AND e.objid = n.oid AND e.deptype = 'e' WHERE n.nspname = " s ")" \
	" ELSE " s " = ANY ($1) END)"

/*
 * The objects of a GRANT or REVOKE that fired the trigger, as three text[]
 * Datums from values[1] on (types, identities, schemas); false when the
 * command is none, or grants on nothing the model covers.
 */
static bool
grant_objects(Datum *values)
{
	List	   *lists[3];
	int			n;

	drifttouch_grant_objects(&lists[0], &lists[1], &lists[2]);
	n = list_length(lists[0]);
	if (n == 0)
		return false;
	for (int k = 0; k < 3; k++)
	{
		char	  **elems = palloc(sizeof(char *) * n);
		ListCell   *lc;

		foreach(lc, lists[k])
			elems[foreach_current_index(lc)] = lfirst(lc);
		values[k + 1] = PointerGetDatum(strings_to_array(elems, n));
	}
	return true;
}

/*
 * The objects of the DDL command that fired the trigger, as a JSON array,
 * or NULL when none of them is one drift covers.  Runs as the caller: the
 * event trigger functions only work in the DDL's own context.
 */
static char *
event_objects(bool drop, Datum schemas, bool schemas_null)
{
	Oid			argtypes[1] = {TEXTARRAYOID};
	Datum		values[1] = {schemas};
	char		nulls[1] = {schemas_null ? 'n' : ' '};
	Oid			grant_argtypes[4] = {TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID};
	Datum		grant_values[4];
	char		grant_nulls[4] = {schemas_null ? 'n' : ' ', ' ', ' ', ' '};
	bool		isnull;
	Datum		result;
	int			ret;

	if (drop)
		ret = SPI_execute_with_args("SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object("
									"  'type', d.object_type, 'identity', d.object_identity) ORDER BY d.ordinality)"
									"  FROM pg_catalog.pg_event_trigger_dropped_objects() WITH ORDINALITY d"
									" WHERE d.original AND NOT d.is_temporary"
									"   AND CASE WHEN d.object_type = 'schema' THEN " MANAGED("d.object_name")
									"            ELSE d.schema_name IS NULL OR " MANAGED("d.schema_name") " END"
		/* DROP EXTENSION migrate: the staging table goes too */
									" HAVING NOT pg_catalog.bool_or(d.object_type = 'extension' AND d.object_identity = 'migrate')",
									1, argtypes, values, nulls, false, 0);
	else if (grant_objects(&grant_values[0]))
	{
		/* a GRANT or REVOKE: its objects, named by drifttouch.c */
		grant_values[0] = schemas;
		ret = SPI_execute_with_args("SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object("
									"  'type', g.t, 'identity', g.i) ORDER BY g.n)"
									"  FROM ROWS FROM (pg_catalog.unnest($2), pg_catalog.unnest($3), pg_catalog.unnest($4))"
									"       WITH ORDINALITY AS g (t, i, s, n)"
									" WHERE " MANAGED("g.s"),
									4, grant_argtypes, grant_values, grant_nulls, false, 0);
	}
	else
		ret = SPI_execute_with_args("SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object("
									"  'type', c.object_type, 'identity', c.object_identity) ORDER BY c.ordinality)"
									"  FROM pg_catalog.pg_event_trigger_ddl_commands() WITH ORDINALITY c"
									" WHERE NOT c.in_extension AND c.command_tag <> ALL ('{GRANT,REVOKE}')"
									"   AND CASE WHEN c.object_type = 'schema'"
									"            THEN " MANAGED("(SELECT n.nspname::text FROM pg_catalog.pg_namespace n WHERE n.oid = c.objid)")
									"            ELSE c.schema_name IS NULL OR " MANAGED("c.schema_name") " END",
									1, argtypes, values, nulls, false, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
	if (SPI_processed == 0)
		return NULL;
	result = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return isnull ? NULL : DatumGetCString(DirectFunctionCall1(jsonb_out, result));
}

/*
 * Stages one event: the caller's identity now, the command tag, the objects
 * (JSON array) and the statement.  catalog_exec() writes as the extension
 * owner.
 */
static void
stage_event(const char *event, const char *tag, const char *objects)
{
	Oid			argtypes[10] = {TIMESTAMPTZOID, NAMEOID, NAMEOID, TEXTOID, TEXTOID,
	INT4OID, TEXTOID, TEXTOID, JSONBOID, TEXTOID};
	Datum		values[10];
	char		nulls[10];
	AuditContext who;
	char	   *statement = debug_query_string ? pnstrdup(debug_query_string, EVENT_STATEMENT_MAX) : NULL;

	audit_identity(&who);
	memset(nulls, ' ', sizeof(nulls));
	values[0] = TimestampTzGetDatum(GetCurrentTimestamp());
	values[1] = DirectFunctionCall1(namein, CStringGetDatum(who.session_role));
	values[2] = DirectFunctionCall1(namein, CStringGetDatum(who.effective_role));
	values[3] = who.application_name ? CStringGetTextDatum(who.application_name) : (nulls[3] = 'n', (Datum) 0);
	values[4] = who.client_addr ? CStringGetTextDatum(who.client_addr) : (nulls[4] = 'n', (Datum) 0);
	values[5] = Int32GetDatum(who.backend_pid);
	values[6] = CStringGetTextDatum(event);
	values[7] = CStringGetTextDatum(tag);
	values[8] = DirectFunctionCall1(jsonb_in, CStringGetDatum(objects ? objects : "[]"));
	values[9] = statement ? CStringGetTextDatum(statement) : (nulls[9] = 'n', (Datum) 0);
	catalog_exec("INSERT INTO migrate.drift_event (at, session_role, effective_role, application_name,"
				 " client_addr, backend_pid, txid, event, command_tag, objects, statement)"
				 " VALUES ($1, $2, $3, $4, $5::pg_catalog.inet, $6, pg_catalog.pg_current_xact_id(),"
				 " $7, $8, $9, $10)",
				 10, argtypes, values, nulls, false, 0);
}

/*
 * Whether pg_restore, run by a superuser, is restoring a dump: what it
 * creates is the dumped schema, whose recorded model the dump restores too.
 * (A superuser can turn the recording off anyway; nobody else is trusted
 * with the application name.)
 */
static bool
restoring(void)
{
	return application_name != NULL && strcmp(application_name, "pg_restore") == 0 &&
		superuser();
}

/* Whether the trigger has nothing to record for this command. */
static bool
event_skipped(void)
{
	return !migrate_track_drift || migrate_in_revision || creating_extension ||
		restoring() || !catalog_has_drift_event();
}

/* What the trigger passes to record_body(). */
typedef struct RecordArgs
{
	EventTriggerData *trigdata;
	bool		drop;
} RecordArgs;

/*
 * Records the DDL that fired the trigger, unless it touches nothing drift
 * covers; while migrate.record_drift is off, records once that recording is
 * paused.  Run by run_caught().
 */
static void
record_body(void *arg)
{
	RecordArgs *ra = arg;
	char	   *objects;
	Datum		schemas;
	bool		schemas_null;
	int			nestlevel;

	catalog_connect();
	/* before the baseline, everything is part of it (and a restore is quiet) */
	if (!drift_model_recorded())
	{
		SPI_finish();
		return;
	}
	schemas = schemamodel_schemas(NULL, &schemas_null);
	/* no operator or function of the caller's search_path takes part */
	nestlevel = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog, pg_temp",
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	objects = event_objects(ra->drop, schemas, schemas_null);
	AtEOXact_GUC(true, nestlevel);
	if (objects != NULL && !migrate_record_drift && !pause_recorded)
	{
		stage_event("paused", "SET", NULL);
		pause_recorded = true;
	}
	else if (objects != NULL && migrate_record_drift)
	{
		if (pause_recorded)
			stage_event("resumed", "SET", NULL);
		pause_recorded = false;
		stage_event(ra->trigdata->event, GetCommandTagName(ra->trigdata->tag), objects);
	}
	SPI_finish();
}

PG_FUNCTION_INFO_V1(migrate_record_ddl);

/*
 * The event trigger function: records the DDL that fired it (record_body()),
 * unless it comes from a revision.  It never fails the DDL: an error while
 * recording is a WARNING, and the model still finds the change.
 */
Datum
migrate_record_ddl(PG_FUNCTION_ARGS)
{
	RecordArgs	ra;
	ErrorData  *edata;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("migrate.record_ddl() must be called as an event trigger")));
	ra.trigdata = (EventTriggerData *) fcinfo->context;
	ra.drop = strcmp(ra.trigdata->event, "sql_drop") == 0;
	/* a revision's DDL is not drift: what it touches is collected (drifttouch.c) */
	if (migrate_in_revision && drift_collector != NULL && migrate_track_drift)
	{
		if (ra.drop)
			drifttouch_dropped(drift_collector);
		else
			drifttouch_commands(drift_collector, ra.trigdata);
		PG_RETURN_NULL();
	}
	if (event_skipped())
		PG_RETURN_NULL();
	/* a DROP's objects come with sql_drop, the others' with ddl_command_end */
	if (ra.drop != (strncmp(GetCommandTagName(ra.trigdata->tag), "DROP", 4) == 0))
		PG_RETURN_NULL();

	edata = run_caught(record_body, &ra);
	if (edata != NULL)
		ereport(WARNING,
				(errcode(edata->sqlerrcode),
				 errmsg("migrate could not record this DDL as drift: %s", edata->message),
				 errhint("migrate.drift() still finds the change through the schema model.")));
	PG_RETURN_NULL();
}

/*
 * Moves the staged events into migrate.history as "drift" rows, oldest
 * first, each with its own identity, time and transaction, chained after
 * the tip that audit_begin() read.  Under the deploy lock; the events of
 * transactions still open stay staged until the next call.
 */
void
ddlevent_move(AuditContext *ac)
{
	uint64		n;
	SPITupleTable *tuptable;
	int64		operation_id = 0;

	/* a session not tracking drift leaves the events staged for one that does */
	/* (no staging table at all, with 1.0's catalogs, is empty too) */
	if (!migrate_track_drift || !ac->has_detail || catalog_drift_event_empty())
		return;
	catalog_exec("WITH moved AS (DELETE FROM migrate.drift_event RETURNING *)"
				 " SELECT at, session_role::text, effective_role::text, application_name,"
				 "        client_addr::text, backend_pid, txid::text, event, command_tag,"
				 "        pg_catalog.jsonb_build_object('event', event, 'command_tag', command_tag,"
				 "                                      'objects', objects, 'statement', statement)::text"
				 "   FROM moved ORDER BY id",
				 0, NULL, NULL, NULL, false, 0);
	n = SPI_processed;
	tuptable = SPI_tuptable;
	for (uint64 i = 0; i < n; i++)
	{
		HeapTuple	tup = tuptable->vals[i];
		TupleDesc	desc = tuptable->tupdesc;
		bool		isnull;
		HistoryRow	row;

		if (operation_id == 0)
			operation_id = catalog_next_operation_id();
		memset(&row, 0, sizeof(row));
		row.operation_id = operation_id;
		row.operation = "drift";
		row.revision = "";
		row.target = NULL;
		row.success = true;
		row.started_at = DatumGetTimestampTz(SPI_getbinval(tup, desc, 1, &isnull));
		row.session_role = SPI_getvalue(tup, desc, 2);
		row.effective_role = SPI_getvalue(tup, desc, 3);
		row.application_name = SPI_getvalue(tup, desc, 4);
		row.client_addr = SPI_getvalue(tup, desc, 5);
		row.backend_pid = DatumGetInt32(SPI_getbinval(tup, desc, 6, &isnull));
		row.txid = strtou64(SPI_getvalue(tup, desc, 7), NULL, 10);
		row.detail = SPI_getvalue(tup, desc, 10);
		audit_append(ac, &row);
	}
}
