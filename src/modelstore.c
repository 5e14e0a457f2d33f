/*
 * modelstore.c
 *		Replaces recorded objects in migrate.schema_object, the recorded
 *		model, by writing the table and its indexes directly.
 *
 * A deploy replaces the recorded objects of every relation its revisions
 * touched: thousands of rows for a large deploy.  Statements taking the
 * rows as arrays spent more on the arrays (built, unnested, cast) and on
 * planning than on the rows; here each row costs an index probe, a delete
 * or an insert.  The rows are migrate's own: no privilege is checked, as
 * for the catalog reads of catalog.c; the caller holds the deploy lock, so
 * no other call writes the table meanwhile.
 */
#include "migrate.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

/* The columns of schema_object, in the order of ModelObject's fields. */
enum
{
	COL_KIND,
	COL_IDENTITY,
	COL_SCHEMA,
	COL_DEFINITION,
	COL_ROOT,
	COL_ROOT_OID,
	NUM_COLS
};

static const char *const column_names[NUM_COLS] = {
	"kind", "identity", "schema", "definition", "root", "root_oid"
};

/* schema_object opened for writing, with what the writes need. */
typedef struct ModelStore
{
	Relation	rel;
	AttrNumber	attnum[NUM_COLS];
	Oid			pkey;			/* (kind, identity) */
	Oid			root_index;		/* (root_oid) */
	Oid			pkey_collation[2];
	Snapshot	snapshot;
} ModelStore;

/* Fails as catalog.c does when migrate's tables were changed by hand. */
static void
store_changed(const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("%s of table \"migrate.schema_object\" does not exist", what),
			 errdetail("The catalogs of the extension migrate were changed outside its functions.")));
}

static void
store_open(ModelStore *st)
{
	Oid			relid = catalog_table_relid("schema_object");
	List	   *indexes;
	ListCell   *lc;

	if (!OidIsValid(relid))
		store_changed("the table");
	st->rel = table_open(relid, RowExclusiveLock);
	for (int i = 0; i < NUM_COLS; i++)
		st->attnum[i] = catalog_attnum(st->rel, column_names[i]);
	st->pkey = st->root_index = InvalidOid;
	indexes = RelationGetIndexList(st->rel);
	foreach(lc, indexes)
	{
		Relation	index = index_open(lfirst_oid(lc), AccessShareLock);
		Form_pg_index ind = index->rd_index;

		if (ind->indisprimary && ind->indnkeyatts == 2 &&
			ind->indkey.values[0] == st->attnum[COL_KIND] &&
			ind->indkey.values[1] == st->attnum[COL_IDENTITY])
		{
			st->pkey = RelationGetRelid(index);
			st->pkey_collation[0] = index->rd_indcollation[0];
			st->pkey_collation[1] = index->rd_indcollation[1];
		}
		else if (ind->indnkeyatts == 1 && ind->indkey.values[0] == st->attnum[COL_ROOT_OID] &&
				 heap_attisnull(index->rd_indextuple, Anum_pg_index_indpred, NULL))
			st->root_index = RelationGetRelid(index);
		index_close(index, AccessShareLock);
	}
	list_free(indexes);
	if (!OidIsValid(st->pkey))
		store_changed("the primary key (kind, identity)");
	if (!OidIsValid(st->root_index))
		store_changed("the index on root_oid");
	st->snapshot = NULL;
}

/*
 * A new snapshot that sees the transaction's own changes so far, as
 * SPI_execute() with read_only = false takes one.
 */
static void
store_snapshot(ModelStore *st)
{
	if (st->snapshot != NULL)
		UnregisterSnapshot(st->snapshot);
	CommandCounterIncrement();
	st->snapshot = RegisterSnapshot(GetTransactionSnapshot());
}

static void
store_close(ModelStore *st)
{
	if (st->snapshot != NULL)
		UnregisterSnapshot(st->snapshot);
	table_close(st->rel, NoLock);
}

/* A text column of a row, NULL for NULL. */
static char *
row_text(ModelStore *st, HeapTuple tup, int col)
{
	bool		isnull;
	Datum		d = heap_getattr(tup, st->attnum[col], RelationGetDescr(st->rel), &isnull);

	return isnull ? NULL : TextDatumGetCString(d);
}

/* Deletes a row found by a scan, its hash taken out of the sum. */
static void
delete_row(ModelStore *st, HeapTuple tup, ModelSum *sum)
{
	modelsum_add(sum, row_text(st, tup, COL_KIND), row_text(st, tup, COL_IDENTITY),
				 row_text(st, tup, COL_DEFINITION), true);
	simple_heap_delete(st->rel, &tup->t_self);
}

/* Deletes the rows of root OID oid whose root has the given prefix ("r:", ...). */
static void
delete_root(ModelStore *st, Oid oid, const char *prefix, ModelSum *sum)
{
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;

	ScanKeyInit(&key, st->attnum[COL_ROOT_OID], BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(oid));
	scan = systable_beginscan(st->rel, st->root_index, true, st->snapshot, 1, &key);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		char	   *root = row_text(st, tup, COL_ROOT);

		if (root != NULL && strncmp(root, prefix, 2) == 0)
			delete_row(st, tup, sum);
	}
	systable_endscan(scan);
}

/* Deletes the row of an object's key, if there is one. */
static void
delete_key(ModelStore *st, ModelObject *o, ModelSum *sum)
{
	ScanKeyData keys[2];
	SysScanDesc scan;
	HeapTuple	tup;

	ScanKeyEntryInitialize(&keys[0], 0, st->attnum[COL_KIND], BTEqualStrategyNumber,
						   InvalidOid, st->pkey_collation[0], F_TEXTEQ,
						   CStringGetTextDatum(o->kind));
	ScanKeyEntryInitialize(&keys[1], 0, st->attnum[COL_IDENTITY], BTEqualStrategyNumber,
						   InvalidOid, st->pkey_collation[1], F_TEXTEQ,
						   CStringGetTextDatum(o->identity));
	scan = systable_beginscan(st->rel, st->pkey, true, st->snapshot, 2, keys);
	if (HeapTupleIsValid(tup = systable_getnext(scan)))
		delete_row(st, tup, sum);
	systable_endscan(scan);
}

/*
 * Replaces the recorded objects of the given roots (by the OID kept with
 * them: roots[g] lists the OIDs of root group g, relations "r:", functions
 * "p:", types "t:", schemas "n:") and any recorded object of a key in live
 * with the objects of live; *sum follows every row deleted and inserted.
 */
void
modelstore_replace(List **roots, int ngroups, SchemaModel *live, ModelSum *sum)
{
	static const char *const prefixes[] = {"r:", "p:", "t:", "n:"};
	ModelStore	st;
	CatalogIndexState indstate;
	int			natts;
	Datum	   *row_values;
	bool	   *row_nulls;

	Assert(ngroups <= (int) lengthof(prefixes));
	store_open(&st);
	store_snapshot(&st);
	for (int g = 0; g < ngroups; g++)
	{
		/* once per OID: a row deleted is still seen by this snapshot */
		List	   *oids = list_copy(roots[g]);
		ListCell   *lc;

		list_sort(oids, list_oid_cmp);
		list_deduplicate_oid(oids);
		foreach(lc, oids)
			delete_root(&st, lfirst_oid(lc), prefixes[g], sum);
		list_free(oids);
	}
	store_snapshot(&st);
	for (int i = 0; i < live->n; i++)
		delete_key(&st, &live->objs[i], sum);

	indstate = CatalogOpenIndexes(st.rel);
	natts = RelationGetDescr(st.rel)->natts;
	row_values = palloc0(sizeof(Datum) * natts);
	row_nulls = palloc(sizeof(bool) * natts);
	for (int i = 0; i < live->n; i++)
	{
		ModelObject *o = &live->objs[i];
		Datum		values[NUM_COLS];
		bool		nulls[NUM_COLS] = {false};
		HeapTuple	tup;

		values[COL_KIND] = CStringGetTextDatum(o->kind);
		values[COL_IDENTITY] = CStringGetTextDatum(o->identity);
		values[COL_SCHEMA] = CStringGetTextDatum(o->schema);
		values[COL_DEFINITION] = CStringGetTextDatum(o->definition);
		values[COL_ROOT] = CStringGetTextDatum(o->root);
		values[COL_ROOT_OID] = ObjectIdGetDatum(o->root_oid);
		nulls[COL_ROOT_OID] = !OidIsValid(o->root_oid);
		/* a column added to the table later than this code is NULL */
		memset(row_nulls, true, sizeof(bool) * natts);
		for (int c = 0; c < NUM_COLS; c++)
		{
			row_values[st.attnum[c] - 1] = values[c];
			row_nulls[st.attnum[c] - 1] = nulls[c];
		}
		tup = heap_form_tuple(RelationGetDescr(st.rel), row_values, row_nulls);
		CatalogTupleInsertWithInfo(st.rel, tup, indstate);
		heap_freetuple(tup);
		modelsum_add(sum, o->kind, o->identity, o->definition, false);
	}
	pfree(row_values);
	pfree(row_nulls);
	CatalogCloseIndexes(indstate);
	store_close(&st);
}
