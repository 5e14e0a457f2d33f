/*
 * drift.c
 *		The schema model as migrate's own steps left it (migrate.schema_root,
 *		listed by the view migrate.schema_object), what differs from it now
 *		(migrate.drift()), and accepting that (migrate.accept_drift()).
 *
 * A call that runs revisions replaces the recorded objects of what its
 * revisions touched (drifttouch.c) with their live ones; when that cannot be
 * collected, it reads the live model at its start, under the deploy lock,
 * and again at its end, and applies only the difference between the two.
 * Either way a change made outside migrate is not absorbed: a hot fix stays
 * drift after later deploys until accept_drift() takes it in (README,
 * "Drift").  The row "m:" of schema_root marks that a model was recorded;
 * the first call that finds none records the live model as the baseline.
 */
#include "migrate.h"

#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

/* migrate.track_drift: whether migrate records the model and reports drift */
bool		migrate_track_drift = true;

/* The most differences an accept row or check()'s detail names. */
#define DRIFT_MAX_LISTED	1000
#define DRIFT_CHECK_LISTED	5

/* One row of migrate.drift(). */
typedef struct DriftRow
{
	const char *kind;
	const char *identity;
	const char *change;			/* added, removed, changed, stamped */
	const char *recorded;
	const char *live;
	char	   *detail;
} DriftRow;

static void drift_xact_callback(XactEvent event, void *arg);

/* Defines migrate.track_drift. */
void
drift_init(void)
{
	DefineCustomBoolVariable("migrate.track_drift",
							 "Whether migrate records the schema model and reports drift.",
							 "Off: no model is read or recorded, drift() is empty, check() ignores drift and status.drift is NULL.",
							 &migrate_track_drift,
							 true,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);
	RegisterXactCallback(drift_xact_callback, NULL);
}

/* Whether a model was recorded (the row "m:" of schema_root). */
bool
drift_model_recorded(void)
{
	return modelstore_value("") != NULL;
}

/*
 * The recorded model of the managed schemas, sorted as schemamodel_read()
 * sorts; every recorded object with all.  With the default set, a schema
 * since dropped still counts.
 */
static SchemaModel *
recorded_read(Datum schemas, bool schemas_null, bool all)
{
	MemoryContext cxt = CurrentMemoryContext;
	Oid			argtypes[2] = {TEXTARRAYOID, BOOLOID};
	Datum		values[2] = {schemas, BoolGetDatum(all)};
	char		nulls[2] = {schemas_null || all ? 'n' : ' ', ' '};
	SchemaModel *m;

	catalog_exec("SELECT o.kind, o.identity, o.definition, o.schema, r.root, r.root_oid"
				 "  FROM migrate.schema_root r"
				 " CROSS JOIN LATERAL ROWS FROM (pg_catalog.unnest(r.kinds), pg_catalog.unnest(r.identities),"
				 "                            pg_catalog.unnest(r.definitions), pg_catalog.unnest(r.schemas))"
				 "       AS o (kind, identity, definition, schema)"
				 " WHERE pg_catalog.left(r.key, 2) <> 'm:' AND ($2 OR CASE WHEN $1 IS NULL THEN"
				 "   o.schema <> ALL ('{pg_catalog,information_schema,migrate}')"
				 "   AND o.schema NOT LIKE 'pg\\_toast%' AND o.schema NOT LIKE 'pg\\_temp\\_%'"
				 "   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace n JOIN pg_catalog.pg_depend e"
				 "                     ON e.classid = 'pg_catalog.pg_namespace'::pg_catalog.regclass"
				 "                    AND e.objid = n.oid AND e.deptype = 'e'"
				 "                  WHERE n.nspname = o.schema)"
				 "  ELSE o.schema = ANY ($1) END)"
				 " ORDER BY o.kind COLLATE \"C\", o.identity COLLATE \"C\"",
				 2, argtypes, values, nulls, false, 0);
	m = schemamodel_from_spi();
	MemoryContextSwitchTo(cxt);
	return m;
}

/* Whether two strings are equal, NULL being "". */
static bool
same_text(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

/* Whether two objects of one key are recorded alike (a row would not change). */
static bool
object_same(const ModelObject *a, const ModelObject *b)
{
	return same_text(a->definition, b->definition) && same_text(a->schema, b->schema) &&
		same_text(a->root, b->root) && a->root_oid == b->root_oid;
}

/* For sorting row keys. */
static int
key_compare(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/*
 * Applies to the recorded model what changed from model a to model b (both
 * sorted): b's new objects are recorded, a's objects missing from b
 * forgotten, and the changed ones recorded too, or with keep_drifted only
 * where the recorded definition is still a's: an object that had drifted
 * keeps its recorded definition, so a revision that changes it does not
 * absorb the drift.  Only the rows whose objects change are written.
 */
static void
recorded_apply(SchemaModel *a, SchemaModel *b, bool keep_drifted)
{
	SchemaModel *rec = recorded_read((Datum) 0, false, true);
	SchemaModel out = {0, Max(rec->n + b->n, 1), NULL};
	char	  **dirty = palloc(sizeof(char *) * (2 * (rec->n + b->n) + 1));
	int			ndirty = 0;
	int			r = 0,
				i = 0,
				j = 0;

	out.objs = palloc(sizeof(ModelObject) * out.capacity);
	while (r < rec->n || i < a->n || j < b->n)
	{
		ModelObject *least = NULL;
		ModelObject *ro,
				   *ao,
				   *bo,
				   *result;

		/* the next key of the three, and each one's object of it */
		if (r < rec->n)
			least = &rec->objs[r];
		if (i < a->n && (least == NULL || schemamodel_compare(&a->objs[i], least) < 0))
			least = &a->objs[i];
		if (j < b->n && (least == NULL || schemamodel_compare(&b->objs[j], least) < 0))
			least = &b->objs[j];
		ro = r < rec->n && schemamodel_compare(&rec->objs[r], least) == 0 ? &rec->objs[r++] : NULL;
		ao = i < a->n && schemamodel_compare(&a->objs[i], least) == 0 ? &a->objs[i++] : NULL;
		bo = j < b->n && schemamodel_compare(&b->objs[j], least) == 0 ? &b->objs[j++] : NULL;

		if (ao != NULL && bo == NULL)
			result = NULL;		/* dropped */
		else if (ao == NULL && bo != NULL)
			result = bo;		/* created */
		else if (ao == NULL || strcmp(ao->definition, bo->definition) == 0)
			result = ro;		/* not changed: as recorded */
		else if (!keep_drifted)
			result = bo;
		else if (ro != NULL && strcmp(ro->definition, ao->definition) == 0)
		{
			result = palloc(sizeof(ModelObject));
			*result = *ro;
			result->definition = bo->definition;
		}
		else
			result = ro;		/* had drifted: stays as recorded */

		if (result != NULL)
			out.objs[out.n++] = *result;
		if (ro != NULL && (result == NULL || !object_same(ro, result)))
			dirty[ndirty++] = modelstore_key(ro);
		if (result != NULL && (ro == NULL || !object_same(ro, result)))
			dirty[ndirty++] = modelstore_key(result);
	}
	qsort(dirty, ndirty, sizeof(char *), key_compare);
	{
		int			n = 0;

		for (int k = 0; k < ndirty; k++)
			if (n == 0 || strcmp(dirty[n - 1], dirty[k]) != 0)
				dirty[n++] = dirty[k];
		ndirty = n;
	}
	modelstore_put(&out, dirty, ndirty);
}

/* Adds (or subtracts) the rows of SPI's last result (kind, identity, definition) to the sum. */
static void
sum_add_result(ModelSum *sum, bool subtract)
{
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;

		modelsum_add(sum, SPI_getvalue(tup, desc, 1), SPI_getvalue(tup, desc, 2),
					 SPI_getvalue(tup, desc, 3), subtract);
	}
	SPI_freetuptable(SPI_tuptable);
}

/* The sum of every recorded object (modelsum_add()), computed again and kept. */
static void
recorded_sum_recompute(ModelSum *sum)
{
	memset(sum, 0, sizeof(*sum));
	catalog_exec("SELECT o.kind, o.identity, o.definition FROM migrate.schema_root r"
				 " CROSS JOIN LATERAL ROWS FROM (pg_catalog.unnest(r.kinds), pg_catalog.unnest(r.identities),"
				 "                              pg_catalog.unnest(r.definitions)) AS o (kind, identity, definition)"
				 " WHERE pg_catalog.left(r.key, 2) <> 'm:'",
				 0, NULL, NULL, NULL, false, 0);
	sum_add_result(sum, false);
	modelstore_set_value("sum", modelsum_to_hex(sum));
}

/* The kept sum of the recorded objects, computed again when missing. */
static void
recorded_sum(ModelSum *sum)
{
	if (!modelsum_from_hex(modelstore_value("sum"), sum))
		recorded_sum_recompute(sum);
}

/* This database's epoch: OIDs kept as hints hold only in it. */
static char *
current_epoch(void)
{
	return psprintf(UINT64_FORMAT "/%u", GetSystemIdentifier(), MyDatabaseId);
}

/*
 * After a restore (or in a copy of the database), the recorded roots' OIDs
 * are another database's: they are looked up again by name.
 */
static void
recorded_epoch_check(void)
{
	char	   *epoch = current_epoch();
	char	   *recorded = modelstore_value("epoch");

	if (recorded != NULL && strcmp(recorded, epoch) == 0)
		return;
	catalog_exec("UPDATE migrate.schema_root"
				 "   SET root_oid = CASE pg_catalog.left(root, 2)"
				 "                    WHEN 'r:' THEN pg_catalog.to_regclass(pg_catalog.substr(root, 3))::pg_catalog.oid"
				 "                    WHEN 'p:' THEN pg_catalog.to_regprocedure(pg_catalog.substr(root, 3))::pg_catalog.oid"
				 "                    WHEN 't:' THEN pg_catalog.to_regtype(pg_catalog.substr(root, 3))::pg_catalog.oid"
				 "                    WHEN 'n:' THEN pg_catalog.to_regnamespace(pg_catalog.substr(root, 3))::pg_catalog.oid END"
				 " WHERE pg_catalog.left(key, 2) <> 'm:'",
				 0, NULL, NULL, NULL, false, 0);
	modelstore_set_value("epoch", epoch);
}

/*
 * Makes the recorded model of the managed schemas the given one, and marks
 * a model recorded: the baseline, and accept_drift().
 */
static void
recorded_replace(SchemaModel *m, Datum schemas, bool schemas_null)
{
	SchemaModel *old = recorded_read(schemas, schemas_null, false);
	ModelSum	sum;

	recorded_apply(old, m, false);
	modelstore_set_value("", "recorded");
	modelstore_set_value("epoch", current_epoch());
	recorded_sum_recompute(&sum);
}

/* The candidates of a prefix ("r", "i") without it, as a text[] Datum, or 0 if none. */
static Datum
candidates_array(List *candidates, char prefix, int *n)
{
	char	  **elems = palloc(sizeof(char *) * Max(list_length(candidates), 1));
	ListCell   *lc;

	*n = 0;
	foreach(lc, candidates)
	{
		char	   *c = lfirst(lc);

		if (c[0] == prefix)
			elems[(*n)++] = c + 2;
	}
	return *n > 0 ? PointerGetDatum(strings_to_array(elems, *n)) : (Datum) 0;
}


/*
 * Resolves the candidates kept by name: a dropped index leaves the recorded
 * model (unless one of that name exists again); the table of a dropped
 * column, constraint, trigger or policy is read again when it still exists.
 */
static void
flush_candidates(DriftTouched *t, ModelSum *sum)
{
	Oid			argtypes[1] = {TEXTARRAYOID};
	Datum		values[1];
	int			n;

	values[0] = candidates_array(t->candidates, 'i', &n);
	if (n > 0)
	{
		catalog_exec("DELETE FROM migrate.schema_root"
					 " WHERE key = ANY (SELECT 'i:' || x FROM pg_catalog.unnest($1) x)"
					 "   AND pg_catalog.to_regclass(identities[1]) IS NULL"
					 " RETURNING kinds[1], identities[1], definitions[1]",
					 1, argtypes, values, NULL, false, 0);
		sum_add_result(sum, true);
	}
	values[0] = candidates_array(t->candidates, 'r', &n);
	if (n > 0)
	{
		catalog_exec("SELECT r FROM (SELECT pg_catalog.to_regclass(x)::pg_catalog.oid AS r"
					 "                 FROM pg_catalog.unnest($1) x) s WHERE r IS NOT NULL",
					 1, argtypes, values, NULL, false, 0);
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			bool		isnull;

			drifttouch_address(t, RelationRelationId,
							   DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i],
															  SPI_tuptable->tupdesc, 1, &isnull)));
		}
	}
}

/*
 * Brings the recorded model up to date with what the call's revisions
 * touched: the recorded objects of every touched root (by the OID kept with
 * them, so that a rename or a move is followed) are replaced by the live
 * objects of those roots, and the sum follows.  Objects nobody touched keep
 * their recorded definitions: a change made outside migrate stays drift.
 * *sum: the recorded model's sum after it.
 */
static void
recorded_flush(DriftTrack *dt, ModelSum *sum)
{
	DriftTouched *t = dt->touched;
	bool		any = false;

	recorded_sum(sum);
	/* what a statement without ddl_command_end created */
	drifttouch_created(t);
	for (int g = 0; g < DRIFT_ROOT_GROUPS; g++)
		any = any || t->roots[g] != NIL;
	if (!any && t->candidates == NIL)
		return;
	flush_candidates(t, sum);
	/* by the roots' OIDs (schema_root_root_oid_idx), then by key */
	modelstore_replace(t->roots, DRIFT_ROOT_GROUPS,
					   schemamodel_read_roots(dt->schemas, dt->schemas_null, t->roots), sum);
	modelstore_set_value("sum", modelsum_to_hex(sum));
}

/*
 * Whether DDL run outside migrate was recorded since the last accept_drift()
 * (history rows "drift", or events still staged): then a root the call
 * touches may have drifted before, and only the whole model read before and
 * after tells the call's own changes from the drift.
 */
static bool
drift_recorded_pending(void)
{
	if (!catalog_drift_event_empty())
		return true;
	return catalog_drift_after_accept();
}

/*
 * At the start of a call that will run (or stamp) revisions, under the
 * deploy lock: records the live model as the baseline when no model was
 * recorded yet, then starts collecting what the revisions touch (the event
 * triggers fill dt->touched, in cxt).  When the event triggers do not fire
 * in this session (disabled, session_replication_role replica, single-user
 * mode), or recorded DDL awaits accept_drift(), reads the whole model
 * instead, to compare with the one at the end: only the difference is
 * recorded, so a hot fix stays drift even on what the call changes too.
 * Does nothing when migrate.track_drift is off or the catalogs are 1.0's.
 */
void
drift_begin(DriftTrack *dt, MemoryContext cxt)
{
	MemoryContext old;
	SchemaModel *model = NULL;

	if (dt->begun || !migrate_track_drift || !catalog_has_schema_root())
		return;
	old = MemoryContextSwitchTo(cxt);
	dt->schemas = schemamodel_schemas(NULL, &dt->schemas_null);
	MemoryContextSwitchTo(old);
	dt->baseline = !drift_model_recorded();
	if (dt->baseline)
	{
		model = schemamodel_read(dt->schemas, dt->schemas_null);
		recorded_replace(model, dt->schemas, dt->schemas_null);
	}
	else
		recorded_epoch_check();
	if (drifttouch_triggers_fire() && !drift_recorded_pending())
	{
		dt->touched = drifttouch_new(cxt);
		drift_collector = dt->touched;
	}
	else
	{
		old = MemoryContextSwitchTo(cxt);
		dt->before = schemamodel_read(dt->schemas, dt->schemas_null);
		MemoryContextSwitchTo(old);
	}
	dt->begun = true;
}

/*
 * At the end of the call (under the deploy lock, in the transaction of its
 * last row): brings the recorded model up to date with what the call changed
 * and keeps its fingerprint for the row's detail.  ran_sql false (a stamp):
 * nothing changed.
 */
void
drift_end(DriftTrack *dt, bool ran_sql)
{
	ModelSum	sum;

	if (!dt->begun || dt->ended)
		return;
	if (drift_collector == dt->touched)
		drift_collector = NULL;
	if (ran_sql && dt->touched != NULL)
		recorded_flush(dt, &sum);
	else if (ran_sql)
	{
		recorded_apply(dt->before, schemamodel_read(dt->schemas, dt->schemas_null), true);
		recorded_sum_recompute(&sum);
	}
	else
		recorded_sum(&sum);
	modelsum_fingerprint(&sum, dt->fingerprint);
	dt->ended = true;
}

/* Forgets the collector at the end of a transaction that failed: its call is over. */
static void
drift_xact_callback(XactEvent event, void *arg)
{
	(void) arg;
	if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT)
		drift_collector = NULL;
}

/*
 * A history row's detail (JSON text or NULL) with the call's schema
 * fingerprint added, once drift_end() has run; else detail unchanged.
 */
char *
drift_detail(DriftTrack *dt, const char *detail)
{
	StringInfoData buf;

	if (!dt->ended)
		return (char *) detail;
	initStringInfo(&buf);
	if (detail != NULL)
	{
		const char *end = strrchr(detail, '}');

		Assert(end != NULL);
		appendBinaryStringInfo(&buf, detail, end - detail);
		appendStringInfoString(&buf, ", ");
	}
	else
		appendStringInfoChar(&buf, '{');
	appendStringInfo(&buf, "\"schema_fingerprint\": \"%s\"", dt->fingerprint);
	if (dt->baseline)
		appendStringInfoString(&buf, ", \"drift_baseline\": true");
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

/* The lines of a that are not lines of b, each prefixed, into buf. */
static void
lines_missing(StringInfo buf, const char *a, const char *b, const char *prefix)
{
	char	   *copy = pstrdup(a);
	char	   *save = NULL;

	for (char *line = strtok_r(copy, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save))
	{
		const char *p = b;
		size_t		len = strlen(line);
		bool		found = false;

		while (p != NULL && !found)
		{
			found = strncmp(p, line, len) == 0 && (p[len] == '\n' || p[len] == '\0');
			p = strchr(p, '\n');
			if (p != NULL)
				p++;
		}
		if (!found)
			appendStringInfo(buf, "%s%s\n", prefix, line);
	}
	pfree(copy);
}

/* What changed in a definition: its lines removed ("- ") and added ("+ "). */
static char *
definition_change(const char *recorded, const char *live)
{
	StringInfoData buf;

	initStringInfo(&buf);
	lines_missing(&buf, recorded, live, "- ");
	lines_missing(&buf, live, recorded, "+ ");
	if (buf.len > 0 && buf.data[buf.len - 1] == '\n')
		buf.data[--buf.len] = '\0';
	return buf.data;
}

/* The differences between the recorded model and the live one, in order. */
static List *
model_diff(SchemaModel *rec, SchemaModel *live)
{
	List	   *rows = NIL;
	int			i = 0;
	int			j = 0;

	while (i < rec->n || j < live->n)
	{
		int			c = i >= rec->n ? 1 : j >= live->n ? -1 :
			schemamodel_compare(&rec->objs[i], &live->objs[j]);
		DriftRow   *row = palloc0(sizeof(DriftRow));

		if (c < 0)
		{
			row->kind = rec->objs[i].kind;
			row->identity = rec->objs[i].identity;
			row->change = "removed";
			row->recorded = rec->objs[i++].definition;
		}
		else if (c > 0)
		{
			row->kind = live->objs[j].kind;
			row->identity = live->objs[j].identity;
			row->change = "added";
			row->live = live->objs[j++].definition;
		}
		else if (strcmp(rec->objs[i].definition, live->objs[j].definition) != 0)
		{
			row->kind = live->objs[j].kind;
			row->identity = live->objs[j].identity;
			row->change = "changed";
			row->recorded = rec->objs[i].definition;
			row->live = live->objs[j].definition;
			row->detail = definition_change(row->recorded, row->live);
			i++, j++;
		}
		else
		{
			i++, j++;
			continue;
		}
		rows = lappend(rows, row);
	}
	return rows;
}

/*
 * Applied revisions whose latest applying step is a stamp made after the
 * last accept_drift(): their SQL never ran here.
 */
static List *
stamped_revisions(void)
{
	List	   *rows = NIL;

	catalog_exec("SELECT a.revision, h.started_at, h.effective_role::text, h.id FROM migrate.applied a"
				 " CROSS JOIN LATERAL (SELECT s.operation, s.id, s.started_at, s.effective_role"
				 "                       FROM migrate.history s"
				 "                      WHERE s.revision = a.revision AND s.success AND s.checksum IS NOT NULL"
				 "                        AND s.operation = ANY ('{upgrade,stamp,adopt}')"
				 "                      ORDER BY s.id DESC LIMIT 1) h"
				 " WHERE h.operation = 'stamp'"
				 "   AND h.id > coalesce((SELECT max(x.id) FROM migrate.history x"
				 "                         WHERE x.revision = '' AND x.operation = 'accept'), 0)"
				 " ORDER BY a.revision COLLATE \"C\"",
				 0, NULL, NULL, NULL, false, 0);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		DriftRow   *row = palloc0(sizeof(DriftRow));
		StringInfoData buf;

		row->kind = "revision";
		row->identity = SPI_getvalue(tup, desc, 1);
		row->change = "stamped";
		initStringInfo(&buf);
		appendStringInfo(&buf, "{\"sql_run\": false, \"stamped_at\": \"%s\", \"stamped_by\": ",
						 SPI_getvalue(tup, desc, 2));
		escape_json(&buf, SPI_getvalue(tup, desc, 3));
		appendStringInfo(&buf, ", \"history_id\": %s}", SPI_getvalue(tup, desc, 4));
		row->detail = buf.data;
		rows = lappend(rows, row);
	}
	return rows;
}

/*
 * DDL run outside migrate and recorded by the event triggers since the last
 * accept_drift(): history rows "drift", then events still staged.
 */
static List *
recorded_events(void)
{
	List	   *rows = NIL;

	if (!catalog_has_drift_event())
		return NIL;
	catalog_exec("SELECT h.detail->>'event', coalesce(h.detail->'objects'->0->>'identity', ''),"
				 "       (h.detail || pg_catalog.jsonb_build_object('at', h.started_at, 'session_role', h.session_role,"
				 "                                                  'history_id', h.id))::text"
				 "  FROM migrate.history h"
				 " WHERE h.revision = '' AND h.operation = 'drift'"
				 "   AND h.id > coalesce((SELECT max(x.id) FROM migrate.history x"
				 "                         WHERE x.revision = '' AND x.operation = 'accept'), 0)"
				 " UNION ALL"
				 " SELECT * FROM (SELECT e.event, coalesce(e.objects->0->>'identity', ''),"
				 "                       pg_catalog.jsonb_build_object('event', e.event, 'command_tag', e.command_tag,"
				 "                                                     'objects', e.objects, 'statement', e.statement,"
				 "                                                     'at', e.at, 'session_role', e.session_role,"
				 "                                                     'staged', true)::text"
				 "                  FROM migrate.drift_event e ORDER BY e.id) s",
				 0, NULL, NULL, NULL, false, 0);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		DriftRow   *row = palloc0(sizeof(DriftRow));
		char	   *event = SPI_getvalue(tup, desc, 1);

		row->kind = "ddl";
		row->identity = SPI_getvalue(tup, desc, 2);
		/* ddl_command_end, sql_drop: recorded; paused, resumed: as they are */
		row->change = (strcmp(event, "paused") == 0 || strcmp(event, "resumed") == 0) ? event : "recorded";
		row->detail = SPI_getvalue(tup, desc, 3);
		rows = lappend(rows, row);
	}
	return rows;
}

/*
 * Every drift row: the objects that differ from the recorded model (none
 * before a model is recorded), the stamped revisions, then the DDL recorded
 * since the last accept_drift().  NIL when
 * migrate.track_drift is off or the catalogs are 1.0's.  Needs SPI.
 */
static List *
drift_rows(SchemaModel **live_out, Datum *schemas, bool *schemas_null)
{
	SchemaModel *live;
	List	   *rows = NIL;

	*live_out = NULL;
	if (!migrate_track_drift || !catalog_has_schema_root())
		return NIL;
	*schemas = schemamodel_schemas(NULL, schemas_null);
	live = schemamodel_read(*schemas, *schemas_null);
	*live_out = live;
	if (drift_model_recorded())
		rows = model_diff(recorded_read(*schemas, *schemas_null, false), live);
	rows = list_concat(rows, stamped_revisions());
	return list_concat(rows, recorded_events());
}

PG_FUNCTION_INFO_V1(migrate_drift);

/* migrate.drift(): what differs from the model migrate recorded, object by object. */
Datum
migrate_drift(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo;
	SchemaModel *live;
	Datum		schemas;
	bool		schemas_null;
	ListCell   *lc;

	InitMaterializedSRF(fcinfo, 0);
	rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	catalog_connect();
	foreach(lc, drift_rows(&live, &schemas, &schemas_null))
	{
		DriftRow   *row = lfirst(lc);
		Datum		values[6];
		bool		nulls[6] = {false, false, false, row->recorded == NULL,
		row->live == NULL, row->detail == NULL};

		values[0] = CStringGetTextDatum(row->kind);
		values[1] = CStringGetTextDatum(row->identity);
		values[2] = CStringGetTextDatum(row->change);
		values[3] = row->recorded ? CStringGetTextDatum(row->recorded) : (Datum) 0;
		values[4] = row->live ? CStringGetTextDatum(row->live) : (Datum) 0;
		values[5] = row->detail ? CStringGetTextDatum(row->detail) : (Datum) 0;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	SPI_finish();
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(migrate_drift_count);

/* migrate.drift_count(): the rows of drift(), or NULL when drift is not tracked. */
Datum
migrate_drift_count(PG_FUNCTION_ARGS)
{
	SchemaModel *live;
	Datum		schemas;
	bool		schemas_null;
	int			n;

	if (!migrate_track_drift)
		PG_RETURN_NULL();
	catalog_connect();
	if (!catalog_has_schema_root())
	{
		SPI_finish();
		PG_RETURN_NULL();
	}
	n = list_length(drift_rows(&live, &schemas, &schemas_null));
	SPI_finish();
	PG_RETURN_INT32(n);
}

/*
 * For check(): NULL when nothing drifted, else a sentence naming how many
 * rows drift() has (objects, stamped revisions, recorded DDL) and the first
 * few.  Needs SPI.
 */
char *
drift_check_detail(int *count)
{
	SchemaModel *live;
	Datum		schemas;
	bool		schemas_null;
	List	   *rows = drift_rows(&live, &schemas, &schemas_null);
	StringInfoData buf;
	ListCell   *lc;

	*count = list_length(rows);
	if (rows == NIL)
		return NULL;
	initStringInfo(&buf);
	appendStringInfo(&buf, ngettext("%d difference from the schema model recorded by migrate:",
									"%d differences from the schema model recorded by migrate:",
									*count), *count);
	foreach(lc, rows)
	{
		DriftRow   *row = lfirst(lc);

		if (foreach_current_index(lc) == DRIFT_CHECK_LISTED)
		{
			appendStringInfoString(&buf, ", ...");
			break;
		}
		appendStringInfo(&buf, "%s %s %s (%s)", foreach_current_index(lc) > 0 ? "," : "",
						 row->kind, row->identity, row->change);
	}
	appendStringInfoChar(&buf, '.');
	return buf.data;
}

/* The detail of an accept row: the reason, the fingerprint, what was accepted. */
static char *
accept_detail(const char *reason, List *rows, const char *fingerprint)
{
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "{\"reason\": ");
	escape_json(&buf, reason);
	appendStringInfo(&buf, ", \"schema_fingerprint\": \"%s\", \"count\": %d, \"accepted\": [",
					 fingerprint, list_length(rows));
	foreach(lc, rows)
	{
		DriftRow   *row = lfirst(lc);

		if (foreach_current_index(lc) == DRIFT_MAX_LISTED)
			break;
		if (foreach_current_index(lc) > 0)
			appendStringInfoString(&buf, ", ");
		appendStringInfoString(&buf, "{\"kind\": ");
		escape_json(&buf, row->kind);
		appendStringInfoString(&buf, ", \"identity\": ");
		escape_json(&buf, row->identity);
		appendStringInfo(&buf, ", \"change\": \"%s\"}", row->change);
	}
	appendStringInfoString(&buf, "]}");
	return buf.data;
}

PG_FUNCTION_INFO_V1(migrate_accept_drift);

/*
 * migrate.accept_drift(reason): records the differences in a history row
 * ("accept") and makes the live model the recorded one; stamped revisions
 * are accepted too.  Returns how many drift rows it accepted.
 */
Datum
migrate_accept_drift(PG_FUNCTION_ARGS)
{
	char	   *reason = required_text_arg(fcinfo, 0, "reason");
	char		fingerprint[MIGRATE_HASH_HEXLEN + 1];
	AuditContext ac;
	SchemaModel *live;
	Datum		schemas;
	bool		schemas_null;
	List	   *rows;
	int			naccepted;

	if (reason[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the reason for accepting drift must not be empty"),
				 errhint("Say why the schema differs, e.g. the ticket of the hot fix.")));
	operation_begin("migrate.accept_drift()", 0);
	if (!migrate_track_drift || !catalog_has_schema_root())
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("drift is not tracked"),
				 !migrate_track_drift ?
				 errdetail("migrate.track_drift is off.") :
				 errdetail("The extension's catalogs are still those of version 1.0."),
				 !migrate_track_drift ?
				 errhint("SET migrate.track_drift = on.") :
				 errhint("Run \"ALTER EXTENSION migrate UPDATE\".")));
	audit_begin(&ac, "accept", NULL, 0);
	rows = drift_rows(&live, &schemas, &schemas_null);
	recorded_replace(live, schemas, schemas_null);
	schemamodel_fingerprint(live, fingerprint);
	audit_record(&ac, "", true, NULL, NULL, GetCurrentTimestamp(), 0, NULL,
				 accept_detail(reason, rows, fingerprint));
	naccepted = list_length(rows);
	/* rows lives in SPI's memory, which operation_end() frees */
	operation_end(0);
	PG_RETURN_INT32(naccepted);
}
