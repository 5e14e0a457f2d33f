/*
 * catalog.c
 *		SPI access to the migrate catalogs.
 *
 * Catalog queries run as the extension's owner with search_path set to
 * "pg_catalog, pg_temp", so that a caller needs no privileges on the tables
 * and no function, operator or table of the caller's search_path can capture
 * them.  Migration SQL, by contrast, runs outside this scope as the caller.
 * Each query is prepared once per backend and kept.
 *
 * The reads made once per revision step or per call (a revision's SQL, a
 * revision by id, the tip of the history chain) go straight to the tables'
 * primary key indexes instead, without SPI: an index scan checks no
 * privilege and resolves no name, so it needs no catalog scope.
 */
#include "migrate.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_type.h"
#include "commands/sequence.h"
#include "executor/tuptable.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

/* The extension owner, looked up once per transaction. */
static Oid	owner_cache = InvalidOid;
static LocalTransactionId owner_cache_lxid = InvalidLocalTransactionId;

/* Prepared catalog queries, keyed by the address of their (static) text. */
typedef struct PlanEntry
{
	const char *sql;
	SPIPlanPtr	plan;
} PlanEntry;

static HTAB *plan_cache = NULL;

/* The extension's owner, as whom catalog queries run (cached per xact). */
static Oid
extension_owner(void)
{
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tuple;
	Oid			owner;

	if (owner_cache_lxid == migrate_local_xid() && OidIsValid(owner_cache))
		return owner_cache;

	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_extension_extname, BTEqualStrategyNumber,
				F_NAMEEQ, CStringGetDatum("migrate"));
	scan = systable_beginscan(rel, ExtensionNameIndexId, true, NULL, 1, &key);
	tuple = systable_getnext(scan);
	if (!HeapTupleIsValid(tuple))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("extension \"migrate\" is not installed in this database"),
				 errhint("Run \"CREATE EXTENSION migrate\".")));
	owner = ((Form_pg_extension) GETSTRUCT(tuple))->extowner;
	systable_endscan(scan);
	table_close(rel, AccessShareLock);

	owner_cache = owner;
	owner_cache_lxid = migrate_local_xid();
	return owner;
}

/* Connects to SPI for the catalog queries of one call. */
void
catalog_connect(void)
{
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
}

/* Becomes the extension owner with a safe search_path until scope_exit. */
void
catalog_scope_enter(CatalogScope *scope)
{
	Oid			owner = extension_owner();

	GetUserIdAndSecContext(&scope->saved_userid, &scope->saved_sec_context);
	SetUserIdAndSecContext(owner,
						   scope->saved_sec_context | SECURITY_LOCAL_USERID_CHANGE);
	scope->saved_nestlevel = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog, pg_temp",
							 PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);

	/*
	 * Kept plans are often made while the catalogs are nearly empty (the
	 * first adds of a registration script); a sequential scan chosen then
	 * would make every later lookup O(n).  Every lookup has an index.  The
	 * reads by primary key no longer come here (catalog_read_revision() and
	 * the other index reads below), but the lookups still made through SPI
	 * need it: add's checks (labels, parents and depends_on by their GIN
	 * indexes, the ancestry walk, the single head), remove's search for
	 * revisions built on it, deploy's reading of the history rows written
	 * since its last turn, the registrant checks and show()'s children.
	 */
	(void) set_config_option("enable_seqscan", "off",
							 PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);

	/*
	 * No JIT: a statement that must scan a whole table (the recorded schema
	 * model, drift's reads of the history) costs over disable_cost with the
	 * setting above, far past jit_above_cost, and compiling it took ~0.3 s
	 * a call for statements that run in milliseconds (bench/README.md,
	 * "Drift").
	 */
	(void) set_config_option("jit", "off",
							 PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
}

/* Leaves a catalog scope: the caller's settings and role again. */
void
catalog_scope_exit(CatalogScope *scope)
{
	AtEOXact_GUC(true, scope->saved_nestlevel);
	SetUserIdAndSecContext(scope->saved_userid, scope->saved_sec_context);
}

/* A catalog query's kept plan, prepared on first use in this backend. */
static SPIPlanPtr
catalog_plan(const char *sql, int nargs, Oid *argtypes)
{
	PlanEntry  *entry;
	bool		found;

	if (plan_cache == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(const char *);
		ctl.entrysize = sizeof(PlanEntry);
		ctl.hcxt = TopMemoryContext;
		plan_cache = hash_create("migrate catalog plans", 64, &ctl,
								 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}

	entry = hash_search(plan_cache, &sql, HASH_ENTER, &found);
	/* an entry without a plan is one whose SPI_prepare raised an error */
	if (!found || entry->plan == NULL)
	{
		SPIPlanPtr	plan;

		entry->plan = NULL;
		plan = SPI_prepare(sql, nargs, argtypes);
		if (plan == NULL)
		{
			(void) hash_search(plan_cache, &sql, HASH_REMOVE, NULL);
			elog(ERROR, "SPI_prepare failed for \"%s\": %s",
				 sql, SPI_result_code_string(SPI_result));
		}
		if (SPI_keepplan(plan) != 0)
			elog(ERROR, "SPI_keepplan failed");
		entry->plan = plan;
	}
	return entry->plan;
}

/*
 * Runs one catalog query (a static string) as the extension owner.
 * read_only = false takes a new snapshot, so that a call that has just been
 * granted the deploy lock sees what the previous holder committed.
 */
int
catalog_exec(const char *sql, int nargs, Oid *argtypes, Datum *values,
			 const char *nulls, bool read_only, long count)
{
	MemoryContext caller_cxt = CurrentMemoryContext;
	CatalogScope scope;
	SPIPlanPtr	plan;
	int			ret;

	catalog_scope_enter(&scope);
	plan = catalog_plan(sql, nargs, argtypes);
	ret = SPI_execute_plan(plan, values, nulls, read_only, count);
	if (ret < 0)
		elog(ERROR, "SPI_execute_plan failed for \"%s\": %s",
			 sql, SPI_result_code_string(ret));
	catalog_scope_exit(&scope);
	/* SPI leaves its procedure context current: the caller's may be shorter-lived */
	MemoryContextSwitchTo(caller_cxt);
	return ret;
}

/*
 * The relations read by index, each table followed by its primary key
 * index (named as CREATE TABLE names it).
 */
typedef enum CatalogRel
{
	CATALOG_REVISION,
	CATALOG_REVISION_PKEY,
	CATALOG_REVISION_HEAD,
	CATALOG_REVISION_HEAD_PKEY,
	CATALOG_APPLIED,
	CATALOG_APPLIED_PKEY,
	CATALOG_HISTORY,
	CATALOG_HISTORY_PKEY,
	CATALOG_OPERATION_ID_SEQ,
	CATALOG_NRELS
} CatalogRel;

static const char *const catalog_rel_names[CATALOG_NRELS] = {
	"revision", "revision_pkey", "revision_head", "revision_head_pkey",
	"applied", "applied_pkey", "history", "history_pkey", "operation_id_seq"
};

/*
 * Their OIDs, looked up by name once and kept until an invalidation touches
 * one of them or any schema: the extension may be dropped and created again
 * in a session, even in one transaction.
 */
static Oid	catalog_relids[CATALOG_NRELS];
static bool catalog_relids_valid = false;

/* Forgets the OIDs when one of the relations changes, or every cache is reset. */
static void
catalog_relcache_callback(Datum arg pg_attribute_unused(), Oid relid)
{
	for (int i = 0; i < CATALOG_NRELS; i++)
		if (!OidIsValid(relid) || relid == catalog_relids[i])
			catalog_relids_valid = false;
}

/* Forgets the OIDs when a schema changes: schema migrate may have been renamed. */
static void
catalog_namespace_callback(Datum arg pg_attribute_unused(), int cacheid pg_attribute_unused(),
						   uint32 hashvalue pg_attribute_unused())
{
	catalog_relids_valid = false;
}

/* Looks the relations up in schema migrate (no privilege is checked). */
static void
catalog_lookup_relids(void)
{
	static bool callbacks_registered = false;
	Oid			nsp;

	if (!callbacks_registered)
	{
		CacheRegisterRelcacheCallback(catalog_relcache_callback, (Datum) 0);
		CacheRegisterSyscacheCallback(NAMESPACEOID, catalog_namespace_callback, (Datum) 0);
		callbacks_registered = true;
	}

	/* set first: an invalidation taken in during the lookups clears it */
	catalog_relids_valid = true;
	nsp = get_namespace_oid("migrate", true);
	for (int i = 0; i < CATALOG_NRELS; i++)
	{
		catalog_relids[i] = OidIsValid(nsp) ? get_relname_relid(catalog_rel_names[i], nsp) : InvalidOid;
		if (OidIsValid(catalog_relids[i]))
			continue;
		catalog_relids_valid = false;
		(void) extension_owner();	/* "not installed" when it is not */
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation \"migrate.%s\" does not exist", catalog_rel_names[i]),
				 errdetail("The catalogs of the extension migrate were changed outside its functions.")));
	}
}

/*
 * The OID of one of the relations, locked in mode until the transaction
 * ends, as a query would hold it.  Taking the lock takes in the pending
 * invalidations; when they show the relation dropped or renamed meanwhile,
 * it is looked up again.
 */
static Oid
catalog_lock_relid(CatalogRel which, LOCKMODE mode)
{
	for (;;)
	{
		Oid			relid;

		if (!catalog_relids_valid)
			catalog_lookup_relids();
		relid = catalog_relids[which];
		LockRelationOid(relid, mode);
		if (catalog_relids_valid)
			return relid;
		UnlockRelationOid(relid, mode);
	}
}

/* Opens a table and its primary key index for reading. */
static Relation
catalog_open(CatalogRel table, Relation *pkey)
{
	Relation	rel = table_open(catalog_lock_relid(table, AccessShareLock), NoLock);

	*pkey = index_open(catalog_lock_relid(table + 1, AccessShareLock), NoLock);
	if ((*pkey)->rd_index->indrelid != RelationGetRelid(rel))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("index \"migrate.%s\" is not the primary key of table \"migrate.%s\"",
						catalog_rel_names[table + 1], catalog_rel_names[table]),
				 errdetail("The catalogs of the extension migrate were changed outside its functions.")));
	return rel;
}

/* Closes what catalog_open() opened; the locks stay until the transaction ends. */
static void
catalog_close(Relation rel, Relation pkey)
{
	index_close(pkey, NoLock);
	table_close(rel, NoLock);
}

/*
 * The snapshot of an index read, registered (catalog_read_end() releases
 * it).  fresh is what SPI_execute_plan() with read_only = false did: the
 * command counter advanced, so that the transaction's own changes are seen,
 * and GetTransactionSnapshot(), which under READ COMMITTED is a new snapshot,
 * taken now, so that a call that has just been granted the deploy lock sees
 * what the previous holder committed.  Not GetLatestSnapshot(): under
 * REPEATABLE READ (refused by every state-changing call, allowed in the
 * read-only ones) GetTransactionSnapshot() keeps the transaction's snapshot,
 * as SPI did, where the latest one would mix two states of the catalogs in
 * one call.  Otherwise, the query's own snapshot, as SPI with read_only =
 * true used.
 */
static Snapshot
catalog_read_begin(bool fresh)
{
	if (fresh)
	{
		CommandCounterIncrement();
		return RegisterSnapshot(GetTransactionSnapshot());
	}
	return RegisterSnapshot(ActiveSnapshotSet() ? GetActiveSnapshot() : GetTransactionSnapshot());
}

/* Releases the snapshot of catalog_read_begin(). */
static void
catalog_read_end(Snapshot snapshot)
{
	UnregisterSnapshot(snapshot);
}

/* The number of a column of one of migrate's tables, by name. */
AttrNumber
catalog_attnum(Relation rel, const char *name)
{
	TupleDesc	desc = RelationGetDescr(rel);

	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (!att->attisdropped && strcmp(NameStr(att->attname), name) == 0)
			return att->attnum;
	}
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_COLUMN),
			 errmsg("column \"%s\" of relation \"migrate.%s\" does not exist",
					name, RelationGetRelationName(rel)),
			 errdetail("The catalogs of the extension migrate were changed outside its functions.")));
	return InvalidAttrNumber;	/* keep compiler quiet */
}

/*
 * Copies columns of a row into the current memory context, detoasted: the
 * row lives in a shared buffer, and its TOAST pointers only as long as the
 * snapshot that found it.
 */
static void
catalog_copy_columns(Relation rel, HeapTuple tuple, int ncols, const char *const *cols,
					 Datum *values, bool *nulls)
{
	TupleDesc	desc = RelationGetDescr(rel);

	for (int i = 0; i < ncols; i++)
	{
		AttrNumber	attnum = catalog_attnum(rel, cols[i]);
		Form_pg_attribute att = TupleDescAttr(desc, attnum - 1);
		Datum		d = heap_getattr(tuple, attnum, desc, &nulls[i]);

		if (nulls[i])
			values[i] = (Datum) 0;
		else if (att->attlen == -1)
			values[i] = PointerGetDatum(PG_DETOAST_DATUM_COPY(d));
		else
			values[i] = datumCopy(d, att->attbyval, att->attlen);
	}
}

/*
 * Finds the row of an open table whose primary key (one text column) is key,
 * by that index, and copies the columns cols of it; false if there is none.
 */
static bool
catalog_probe(Relation rel, Relation pkey, Snapshot snapshot, Datum key,
			  int ncols, const char *const *cols, Datum *values, bool *nulls)
{
	ScanKeyData skey;
	SysScanDesc scan;
	HeapTuple	tuple;

	/* the index's collation: a btree is searched in the order it was built in */
	ScanKeyEntryInitialize(&skey, 0, pkey->rd_index->indkey.values[0], BTEqualStrategyNumber,
						   InvalidOid, pkey->rd_indcollation[0], F_TEXTEQ, key);
	scan = systable_beginscan_ordered(rel, pkey, snapshot, 1, &skey);
	tuple = systable_getnext_ordered(scan, ForwardScanDirection);
	if (HeapTupleIsValid(tuple))
		catalog_copy_columns(rel, tuple, ncols, cols, values, nulls);
	systable_endscan_ordered(scan);
	return HeapTupleIsValid(tuple);
}

/* catalog_probe() on a table opened for this one read. */
static bool
catalog_read_by_key(CatalogRel table, Snapshot snapshot, Datum key,
					int ncols, const char *const *cols, Datum *values, bool *nulls)
{
	Relation	pkey;
	Relation	rel = catalog_open(table, &pkey);
	bool		found = catalog_probe(rel, pkey, snapshot, key, ncols, cols, values, nulls);

	catalog_close(rel, pkey);
	return found;
}

/*
 * Reads the columns cols of revision id by index, and whether it is applied
 * (when applied is not NULL), both with one snapshot (catalog_read_begin()
 * says which); false if there is no such revision.
 */
bool
catalog_read_revision(const char *id, bool fresh, int ncols, const char *const *cols,
					  Datum *values, bool *nulls, bool *applied)
{
	Snapshot	snapshot = catalog_read_begin(fresh);
	Datum		key = CStringGetTextDatum(id);
	bool		found;

	found = catalog_read_by_key(CATALOG_REVISION, snapshot, key, ncols, cols, values, nulls);
	if (applied != NULL)
		*applied = found &&
			catalog_read_by_key(CATALOG_APPLIED, snapshot, key, 0, NULL, NULL, NULL);
	catalog_read_end(snapshot);
	return found;
}

/* The up or down SQL of a revision (NULL when irreversible). */
char *
catalog_fetch_sql(const char *id, bool down)
{
	const char *col = down ? "down_sql" : "up_sql";
	Datum		sql;
	bool		isnull;

	if (!catalog_read_revision(id, true, 1, &col, &sql, &isnull, NULL))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("revision \"%s\" does not exist", id)));
	return isnull ? NULL : TextDatumGetCString(sql);
}

/*
 * The newest row of migrate.history (the highest id, by the primary key
 * scanned backward), with a fresh snapshot: its id (0 if there is none) and
 * its hash.  False when the history is empty.
 */
bool
catalog_history_tip(int64 *id, char *hash)
{
	static const char *const cols[2] = {"id", "hash"};
	Snapshot	snapshot = catalog_read_begin(true);
	Relation	pkey;
	Relation	rel = catalog_open(CATALOG_HISTORY, &pkey);
	SysScanDesc scan = systable_beginscan_ordered(rel, pkey, snapshot, 0, NULL);
	HeapTuple	tuple = systable_getnext_ordered(scan, BackwardScanDirection);
	Datum		values[2];
	bool		nulls[2] = {true, true};

	if (HeapTupleIsValid(tuple))
		catalog_copy_columns(rel, tuple, 2, cols, values, nulls);
	systable_endscan_ordered(scan);
	catalog_close(rel, pkey);
	catalog_read_end(snapshot);

	*id = nulls[0] ? 0 : DatumGetInt64(values[0]);
	if (!nulls[1])
		text_to_cstring_buffer(DatumGetTextPP(values[1]), hash, MIGRATE_HASH_HEXLEN + 1);
	return !nulls[1];
}

/*
 * The next value of migrate.operation_id_seq.  Called directly, without the
 * privilege check of nextval(): the caller needs no privilege on migrate's
 * sequences, as on its tables.
 */
int64
catalog_next_operation_id(void)
{
	return nextval_internal(catalog_lock_relid(CATALOG_OPERATION_ID_SEQ, RowExclusiveLock), false);
}

/* The OID of a table of schema migrate, or InvalidOid when there is none. */
Oid
catalog_table_relid(const char *table)
{
	Oid			nsp = get_namespace_oid("migrate", true);

	return OidIsValid(nsp) ? get_relname_relid(table, nsp) : InvalidOid;
}

/* Whether a table of schema migrate has the column (the catalogs of 1.0 or 1.1). */
static bool
catalog_has_column(const char *table, const char *column)
{
	Oid			rel = catalog_table_relid(table);

	return OidIsValid(rel) && get_attnum(rel, column) != InvalidAttrNumber;
}

/*
 * Whether migrate.history has the detail column of version 1.1.  The library
 * serves databases still at 1.0 until ALTER EXTENSION migrate UPDATE, so it
 * writes and checks detail only where the column exists.
 */
bool
catalog_history_has_detail(void)
{
	return catalog_has_column("history", "detail");
}

/*
 * Whether migrate.revision has column transactional (version 1.1): without
 * it, a revision that cannot run in a transaction is refused as in 1.0.
 */
bool
catalog_has_transactional(void)
{
	return catalog_has_column("revision", "transactional");
}

/*
 * Whether migrate.schema_root exists (version 1.1, drift): without it no
 * model is recorded and drift is not tracked.
 */
bool
catalog_has_schema_root(void)
{
	return catalog_has_column("schema_root", "definitions");
}

/*
 * Whether migrate.drift_event holds no row a new snapshot sees: a scan for
 * the first row, without the executor, for every history append.
 */
bool
catalog_drift_event_empty(void)
{
	Oid			relid = catalog_table_relid("drift_event");
	Relation	rel;
	Snapshot	snapshot;
	TableScanDesc scan;
	TupleTableSlot *slot;
	bool		empty;

	if (!OidIsValid(relid))
		return true;
	rel = table_open(relid, AccessShareLock);
	snapshot = RegisterSnapshot(GetLatestSnapshot());
	scan = table_beginscan(rel, snapshot, 0, NULL);
	slot = table_slot_create(rel, NULL);
	empty = !table_scan_getnextslot(scan, ForwardScanDirection, slot);
	ExecDropSingleTupleTableSlot(slot);
	table_endscan(scan);
	UnregisterSnapshot(snapshot);
	table_close(rel, AccessShareLock);
	return empty;
}

/*
 * The index of an open table of migrate whose key has nkeyatts columns, the
 * first of them first, without a predicate (and its primary key when
 * primary), or InvalidOid; *collation (if not NULL) gets that column's
 * collation.  For the scans that use migrate's indexes without a statement.
 */
Oid
catalog_index_on(Relation rel, AttrNumber first, int nkeyatts, bool primary, Oid *collation)
{
	List	   *indexes = RelationGetIndexList(rel);
	ListCell   *lc;
	Oid			found = InvalidOid;

	foreach(lc, indexes)
	{
		Relation	index = index_open(lfirst_oid(lc), AccessShareLock);
		Form_pg_index ind = index->rd_index;

		if (!OidIsValid(found) && ind->indnkeyatts == nkeyatts && ind->indkey.values[0] == first &&
			(ind->indisprimary || !primary) &&
			heap_attisnull(index->rd_indextuple, Anum_pg_index_indpred, NULL))
		{
			found = RelationGetRelid(index);
			if (collation != NULL)
				*collation = index->rd_indcollation[0];
		}
		index_close(index, AccessShareLock);
	}
	list_free(indexes);
	return found;
}

/*
 * Whether the newest history row of operation drift or accept is a drift
 * row: DDL run outside migrate was recorded since the last accept_drift().
 * A backward scan of history_revision_idx (revision, id) over the rows of no
 * revision, without a statement: the planner costs this one past the scan
 * it is, and plans it for every new session's first deploy.
 */
bool
catalog_drift_after_accept(void)
{
	Oid			relid = catalog_table_relid("history");
	Relation	rel;
	AttrNumber	revision_att;
	AttrNumber	operation_att;
	Oid			index;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	bool		drift = false;

	if (!OidIsValid(relid))
		return false;
	rel = table_open(relid, AccessShareLock);
	revision_att = catalog_attnum(rel, "revision");
	operation_att = catalog_attnum(rel, "operation");
	index = catalog_index_on(rel, revision_att, 2, false, NULL);
	if (!OidIsValid(index))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the index on (revision, id) of table \"migrate.history\" does not exist"),
				 errdetail("The catalogs of the extension migrate were changed outside its functions.")));
	{
		Relation	irel = index_open(index, AccessShareLock);
		Snapshot	snapshot;

		/* the rows this transaction wrote too (staged events moved in) */
		CommandCounterIncrement();
		snapshot = RegisterSnapshot(GetLatestSnapshot());

		ScanKeyEntryInitialize(&key, 0, revision_att, BTEqualStrategyNumber, InvalidOid,
							   irel->rd_indcollation[0], F_TEXTEQ, CStringGetTextDatum(""));
		scan = systable_beginscan_ordered(rel, irel, snapshot, 1, &key);
		while (HeapTupleIsValid(tup = systable_getnext_ordered(scan, BackwardScanDirection)))
		{
			bool		isnull;
			Datum		op = heap_getattr(tup, operation_att, RelationGetDescr(rel), &isnull);
			char	   *operation = isnull ? "" : TextDatumGetCString(op);

			if (strcmp(operation, "drift") == 0 || strcmp(operation, "accept") == 0)
			{
				drift = strcmp(operation, "drift") == 0;
				break;
			}
		}
		systable_endscan_ordered(scan);
		UnregisterSnapshot(snapshot);
		index_close(irel, AccessShareLock);
	}
	table_close(rel, AccessShareLock);
	return drift;
}

/* Whether migrate.drift_event, the event triggers' staging table, exists. */
bool
catalog_has_drift_event(void)
{
	return catalog_has_column("drift_event", "objects");
}

/* Records a revision as applied, with the checksum it has now. */
void
catalog_set_applied(const char *id, const char *checksum, TimestampTz applied_at,
					const char *applied_by)
{
	Oid			argtypes[4] = {TEXTOID, TIMESTAMPTZOID, NAMEOID, TEXTOID};
	Datum		values[4];

	values[0] = CStringGetTextDatum(id);
	values[1] = TimestampTzGetDatum(applied_at);
	values[2] = DirectFunctionCall1(namein, CStringGetDatum(applied_by));
	values[3] = CStringGetTextDatum(checksum);
	catalog_exec("INSERT INTO migrate.applied (revision, applied_at, applied_by, checksum)"
				 " VALUES ($1, $2, $3, $4)",
				 4, argtypes, values, NULL, false, 0);
}

/* Records an applied revision's new checksum: its text changed without running. */
void
catalog_set_applied_checksum(const char *id, const char *checksum)
{
	Oid			argtypes[2] = {TEXTOID, TEXTOID};
	Datum		values[2] = {CStringGetTextDatum(id), CStringGetTextDatum(checksum)};

	catalog_exec("UPDATE migrate.applied SET checksum = $2 WHERE revision = $1",
				 2, argtypes, values, NULL, false, 0);
}

/* Records a revision as no longer applied. */
void
catalog_unset_applied(const char *id)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(id)};

	catalog_exec("DELETE FROM migrate.applied WHERE revision = $1",
				 1, argtypes, values, NULL, false, 0);
}

/*
 * Whether upgrade(target) has nothing to do, judged from the graph heads
 * alone: as the applied set is closed under ancestry, all heads applied means
 * everything is.  Only for "head" and "heads"; false means "load the graph".
 * The heads are read by index, each probed in applied's primary key, with a
 * fresh snapshot (the caller has just been granted the deploy lock).
 */
bool
catalog_heads_all_applied(const char *target)
{
	bool		one_head = strcmp(target, "head") == 0;
	Snapshot	snapshot;
	Relation	heads_pkey;
	Relation	heads;
	Relation	applied_pkey;
	Relation	applied;
	SysScanDesc scan;
	HeapTuple	tuple;
	AttrNumber	attnum;
	int64		nheads = 0;
	bool		all_applied = true;

	if (!one_head && strcmp(target, "heads") != 0)
		return false;
	snapshot = catalog_read_begin(true);
	heads = catalog_open(CATALOG_REVISION_HEAD, &heads_pkey);
	applied = catalog_open(CATALOG_APPLIED, &applied_pkey);
	attnum = catalog_attnum(heads, "revision");
	scan = systable_beginscan_ordered(heads, heads_pkey, snapshot, 0, NULL);
	while (all_applied && HeapTupleIsValid(tuple = systable_getnext_ordered(scan, ForwardScanDirection)))
	{
		bool		isnull;
		Datum		head = heap_getattr(tuple, attnum, RelationGetDescr(heads), &isnull);

		/* several heads make "head" an error: the full path reports it */
		nheads++;
		all_applied = !(one_head && nheads > 1) &&
			catalog_probe(applied, applied_pkey, snapshot, head, 0, NULL, NULL, NULL);
	}
	systable_endscan_ordered(scan);
	catalog_close(applied, applied_pkey);
	catalog_close(heads, heads_pkey);
	catalog_read_end(snapshot);
	return nheads > 0 && all_applied;
}
