/*
 * catalog.c
 *		SPI access to the migrate catalogs.
 *
 * Catalog queries run as the extension's owner with search_path set to
 * "pg_catalog, pg_temp", so that a caller needs no privileges on the tables
 * and no function, operator or table of the caller's search_path can capture
 * them.  Migration SQL, by contrast, runs outside this scope as the caller.
 * Each query is prepared once per backend and kept.
 */
#include "migrate.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "storage/lock.h"

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
	 * would make every later lookup O(n).  Every lookup has an index.
	 */
	(void) set_config_option("enable_seqscan", "off",
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

/* The up or down SQL of a revision (NULL when irreversible). */
char *
catalog_fetch_sql(const char *id, bool down)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(id)};
	bool		isnull;
	Datum		d;
	char	   *sql;

	if (down)
		catalog_exec("SELECT down_sql FROM migrate.revision WHERE id = $1",
					 1, argtypes, values, NULL, false, 1);
	else
		catalog_exec("SELECT up_sql FROM migrate.revision WHERE id = $1",
					 1, argtypes, values, NULL, false, 1);
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("revision \"%s\" does not exist", id)));
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	sql = isnull ? NULL : TextDatumGetCString(d);
	SPI_freetuptable(SPI_tuptable);
	return sql;
}

/*
 * Whether migrate.history has the detail column of version 1.1.  The library
 * serves databases still at 1.0 until ALTER EXTENSION migrate UPDATE, so it
 * writes and checks detail only where the column exists.
 */
bool
catalog_history_has_detail(void)
{
	Oid			nsp = get_namespace_oid("migrate", true);
	Oid			rel = OidIsValid(nsp) ? get_relname_relid("history", nsp) : InvalidOid;

	return OidIsValid(rel) && get_attnum(rel, "detail") != InvalidAttrNumber;
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
 */
bool
catalog_heads_all_applied(const char *target)
{
	bool		isnull;
	int64		nheads;
	int64		napplied;

	if (strcmp(target, "head") != 0 && strcmp(target, "heads") != 0)
		return false;
	/* one index probe per head, whatever plan the join would get */
	catalog_exec("SELECT pg_catalog.count(*), pg_catalog.count(*) FILTER (WHERE EXISTS"
				 " (SELECT 1 FROM migrate.applied a WHERE a.revision = h.revision))"
				 " FROM migrate.revision_head h",
				 0, NULL, NULL, NULL, false, 1);
	nheads = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	napplied = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	SPI_freetuptable(SPI_tuptable);

	/* several heads make "head" an error: the full path reports it */
	if (strcmp(target, "head") == 0 && nheads > 1)
		return false;
	return nheads > 0 && nheads == napplied;
}

/*
 * Runs the no-op check once per backend before the caller queues for the
 * deploy lock.  Waiters are granted the lock one after another; a waiter that
 * then only executes a kept plan holds it for microseconds, where parsing,
 * planning and loading the catalogs' relation cache took milliseconds, times
 * the number of waiters.
 */
void
catalog_warm_heads_check(void)
{
	static bool warmed = false;

	if (warmed)
		return;
	(void) catalog_heads_all_applied("heads");
	warmed = true;
}
