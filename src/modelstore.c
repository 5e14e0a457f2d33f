/*
 * modelstore.c
 *		Writes the recorded model, migrate.schema_root: one row per root (a
 *		relation, function, type or schema) holding its objects as parallel
 *		arrays, an index in a row of its own.
 *
 * A deploy replaces the recorded objects of every relation its revisions
 * touched.  A row per object cost a heap tuple, two index entries and a
 * probe for each column, constraint and index; a row per root costs them
 * once per table.  An index keeps a row of its own (key "i:" and its
 * identity) because its name is unique in its schema but not tied to its
 * table: dropped with one table and created on another, its key still
 * finds the old row.  The rows are written directly, not through SQL: they
 * are migrate's own, no privilege is checked, as for the catalog reads of
 * catalog.c; the caller holds the deploy lock, so no other call writes the
 * table meanwhile.
 */
#include "migrate.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/index.h"
#include "catalog/indexing.h"
#include "executor/executor.h"
#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

/* The columns of schema_root. */
enum
{
	COL_KEY,
	COL_ROOT,
	COL_ROOT_OID,
	COL_KINDS,
	COL_IDENTITIES,
	COL_SCHEMAS,
	COL_DEFINITIONS,
	NUM_COLS
};

static const char *const column_names[NUM_COLS] = {
	"key", "root", "root_oid", "kinds", "identities", "schemas", "definitions"
};

/* schema_root opened for writing, with what the writes need. */
typedef struct ModelStore
{
	Relation	rel;
	AttrNumber	attnum[NUM_COLS];
	Oid			pkey;			/* (key) */
	Oid			root_index;		/* (root_oid) */
	Oid			pkey_collation;
	Snapshot	snapshot;
	CatalogIndexState indstate;
	Datum	   *row_values;		/* a row of the table's width */
	bool	   *row_nulls;
} ModelStore;

/* One row's worth of objects: n objects of a model, by their indexes. */
typedef struct RowGroup
{
	const char *key;
	int		   *members;
	int			n;
} RowGroup;

/* Fails as catalog.c does when migrate's tables were changed by hand. */
static void
store_changed(const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("%s of table \"migrate.schema_root\" does not exist", what),
			 errdetail("The catalogs of the extension migrate were changed outside its functions.")));
}

static void
store_open(ModelStore *st, bool write)
{
	Oid			relid = catalog_table_relid("schema_root");
	int			natts;

	if (!OidIsValid(relid))
		store_changed("the table");
	st->rel = table_open(relid, write ? RowExclusiveLock : AccessShareLock);
	for (int i = 0; i < NUM_COLS; i++)
		st->attnum[i] = catalog_attnum(st->rel, column_names[i]);
	st->pkey = catalog_index_on(st->rel, st->attnum[COL_KEY], 1, true, &st->pkey_collation);
	st->root_index = catalog_index_on(st->rel, st->attnum[COL_ROOT_OID], 1, false, NULL);
	if (!OidIsValid(st->pkey))
		store_changed("the primary key (key)");
	if (!OidIsValid(st->root_index))
		store_changed("the index on root_oid");
	st->snapshot = NULL;
	st->indstate = write ? CatalogOpenIndexes(st->rel) : NULL;
	natts = RelationGetDescr(st->rel)->natts;
	st->row_values = palloc0(sizeof(Datum) * natts);
	st->row_nulls = palloc(sizeof(bool) * natts);
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
	if (st->indstate != NULL)
		CatalogCloseIndexes(st->indstate);
	pfree(st->row_values);
	pfree(st->row_nulls);
	table_close(st->rel, NoLock);
}

/* A text array column of a row as its elements (no NULLs: the table says NOT NULL). */
static int
row_texts(ModelStore *st, HeapTuple tup, int col, Datum **elems)
{
	bool		isnull;
	Datum		d = heap_getattr(tup, st->attnum[col], RelationGetDescr(st->rel), &isnull);
	int			n = 0;

	*elems = NULL;
	if (!isnull)
		deconstruct_array(DatumGetArrayTypeP(d), TEXTOID, -1, false, TYPALIGN_INT,
						  elems, NULL, &n);
	return n;
}

/* Deletes a row found by a scan, its objects' hashes taken out of the sum (if any). */
static void
delete_row(ModelStore *st, HeapTuple tup, ModelSum *sum)
{
	if (sum != NULL)
	{
		Datum	   *kinds;
		Datum	   *identities;
		Datum	   *definitions;
		int			n = row_texts(st, tup, COL_KINDS, &kinds);

		if (row_texts(st, tup, COL_IDENTITIES, &identities) != n ||
			row_texts(st, tup, COL_DEFINITIONS, &definitions) != n)
			store_changed("a row with arrays of one length");
		for (int i = 0; i < n; i++)
			modelsum_add(sum, TextDatumGetCString(kinds[i]), TextDatumGetCString(identities[i]),
						 TextDatumGetCString(definitions[i]), true);
	}
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
		bool		isnull;
		Datum		root = heap_getattr(tup, st->attnum[COL_ROOT], RelationGetDescr(st->rel), &isnull);

		if (!isnull && strncmp(TextDatumGetCString(root), prefix, 2) == 0)
			delete_row(st, tup, sum);
	}
	systable_endscan(scan);
}

/* A scan of the rows of a key, by the primary key (key: the scan key's storage). */
static SysScanDesc
key_scan_begin(ModelStore *st, const char *rowkey, ScanKey key)
{
	ScanKeyEntryInitialize(key, 0, st->attnum[COL_KEY], BTEqualStrategyNumber,
						   InvalidOid, st->pkey_collation, F_TEXTEQ,
						   CStringGetTextDatum(rowkey));
	return systable_beginscan(st->rel, st->pkey, true, st->snapshot, 1, key);
}

/* Deletes the row of a key (but the one at tid keep, if valid); whether there was one. */
static bool
delete_key(ModelStore *st, const char *rowkey, ItemPointer keep, ModelSum *sum)
{
	ScanKeyData key;
	SysScanDesc scan = key_scan_begin(st, rowkey, &key);
	HeapTuple	tup;
	bool		found = false;

	while (!found && HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		if (keep != NULL && ItemPointerEquals(keep, &tup->t_self))
			continue;
		delete_row(st, tup, sum);
		found = true;
	}
	systable_endscan(scan);
	return found;
}

/*
 * Inserts a row and its index entries, as CatalogTupleInsertWithInfo() does
 * but without failing on a key already recorded: returns false when the
 * primary key may have another row of the key (for the caller to delete).
 * Saves a probe of the key for every row, which almost always finds none.
 */
static bool
insert_tuple(ModelStore *st, HeapTuple tup)
{
	TupleTableSlot *slot = MakeSingleTupleTableSlot(RelationGetDescr(st->rel), &TTSOpsHeapTuple);
	bool		unique = true;

	simple_heap_insert(st->rel, tup);
	ExecStoreHeapTuple(tup, slot, false);
	for (int i = 0; i < st->indstate->ri_NumIndices; i++)
	{
		Relation	index = st->indstate->ri_IndexRelationDescs[i];
		IndexInfo  *info = st->indstate->ri_IndexRelationInfo[i];
		Datum		values[INDEX_MAX_KEYS];
		bool		isnull[INDEX_MAX_KEYS];

		if (!info->ii_ReadyForInserts)
			continue;
		FormIndexDatum(info, slot, NULL, values, isnull);
		if (!index_insert(index, values, isnull, &tup->t_self, st->rel,
						  index->rd_index->indisunique ? UNIQUE_CHECK_PARTIAL : UNIQUE_CHECK_NO,
						  false, info) && index->rd_index->indisunique)
			unique = false;
	}
	ExecDropSingleTupleTableSlot(slot);
	return unique;
}

/* The text[] of one field of a group's objects. */
static Datum
group_array(SchemaModel *m, RowGroup *g, size_t field)
{
	char	  **elems = palloc(sizeof(char *) * g->n);
	ArrayType  *arr;

	for (int i = 0; i < g->n; i++)
	{
		char	   *value = *(char **) ((char *) &m->objs[g->members[i]] + field);

		elems[i] = value ? value : "";
	}
	arr = strings_to_array(elems, g->n);
	pfree(elems);
	return PointerGetDatum(arr);
}

/* Inserts a group's row, its objects' hashes added to the sum (if any). */
static void
insert_row(ModelStore *st, SchemaModel *m, RowGroup *g, ModelSum *sum)
{
	ModelObject *first = &m->objs[g->members[0]];
	int			natts = RelationGetDescr(st->rel)->natts;
	Datum		values[NUM_COLS];
	bool		nulls[NUM_COLS] = {false};
	HeapTuple	tup;

	values[COL_KEY] = CStringGetTextDatum(g->key);
	values[COL_ROOT] = CStringGetTextDatum(first->root ? first->root : "");
	values[COL_ROOT_OID] = ObjectIdGetDatum(first->root_oid);
	nulls[COL_ROOT_OID] = !OidIsValid(first->root_oid);
	values[COL_KINDS] = group_array(m, g, offsetof(ModelObject, kind));
	values[COL_IDENTITIES] = group_array(m, g, offsetof(ModelObject, identity));
	values[COL_SCHEMAS] = group_array(m, g, offsetof(ModelObject, schema));
	values[COL_DEFINITIONS] = group_array(m, g, offsetof(ModelObject, definition));
	/* a column added to the table later than this code is NULL */
	memset(st->row_nulls, true, sizeof(bool) * natts);
	for (int c = 0; c < NUM_COLS; c++)
	{
		st->row_values[st->attnum[c] - 1] = values[c];
		st->row_nulls[st->attnum[c] - 1] = nulls[c];
	}
	tup = heap_form_tuple(RelationGetDescr(st->rel), st->row_values, st->row_nulls);
	/* a row of the key left by an earlier call (the caller deleted the ones it knew) */
	if (!insert_tuple(st, tup) && !delete_key(st, g->key, &tup->t_self, sum))
		ereport(ERROR,
				(errcode(ERRCODE_UNIQUE_VIOLATION),
				 errmsg("duplicate key \"%s\" in table \"migrate.schema_root\"", g->key),
				 errdetail("Another transaction is writing the recorded model.")));
	heap_freetuple(tup);
	if (sum != NULL)
		for (int i = 0; i < g->n; i++)
		{
			ModelObject *o = &m->objs[g->members[i]];

			modelsum_add(sum, o->kind, o->identity, o->definition, false);
		}
}

/* The key of an object's row: its root, or "i:" and its identity for an index. */
char *
modelstore_key(const ModelObject *o)
{
	if (strcmp(o->kind, "index") == 0)
		return psprintf("i:%s", o->identity);
	return pstrdup(o->root ? o->root : "");
}

/* For sorting a model's objects by row key, then as the model sorts them. */
typedef struct KeyedObject
{
	char	   *key;
	int			index;
	const ModelObject *object;
} KeyedObject;

static int
keyed_compare(const void *a, const void *b)
{
	const KeyedObject *x = a;
	const KeyedObject *y = b;
	int			c = strcmp(x->key, y->key);

	return c != 0 ? c : schemamodel_compare(x->object, y->object);
}

/*
 * A model's objects (in any order) grouped into rows, in key order, each
 * row's objects in the model's order; *ngroups set.
 */
static RowGroup *
group_rows(SchemaModel *m, int *ngroups)
{
	KeyedObject *keyed = palloc(sizeof(KeyedObject) * Max(m->n, 1));
	RowGroup   *groups = palloc(sizeof(RowGroup) * Max(m->n, 1));
	int		   *members = palloc(sizeof(int) * Max(m->n, 1));

	for (int i = 0; i < m->n; i++)
	{
		keyed[i].key = modelstore_key(&m->objs[i]);
		keyed[i].index = i;
		keyed[i].object = &m->objs[i];
	}
	qsort(keyed, m->n, sizeof(KeyedObject), keyed_compare);
	*ngroups = 0;
	for (int i = 0; i < m->n; i++)
	{
		if (i == 0 || strcmp(keyed[i].key, keyed[i - 1].key) != 0)
		{
			RowGroup   *g = &groups[(*ngroups)++];

			g->key = keyed[i].key;
			g->members = &members[i];
			g->n = 0;
		}
		members[i] = keyed[i].index;
		groups[*ngroups - 1].n++;
	}
	pfree(keyed);
	return groups;
}

/*
 * Replaces the recorded objects of the given roots (by the OID kept with
 * them: roots[g] lists the OIDs of root group g, relations "r:", functions
 * "p:", types "t:", schemas "n:") and any recorded row of a key in live with
 * the objects of live; *sum follows every object deleted and inserted.
 */
void
modelstore_replace(List **roots, int ngroups, SchemaModel *live, ModelSum *sum)
{
	static const char *const prefixes[] = {"r:", "p:", "t:", "n:"};
	ModelStore	st;
	RowGroup   *groups;
	int			nrows;

	Assert(ngroups <= (int) lengthof(prefixes));
	store_open(&st, true);
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
	groups = group_rows(live, &nrows);
	for (int i = 0; i < nrows; i++)
		insert_row(&st, live, &groups[i], sum);
	store_close(&st);
}

/*
 * Rewrites the rows of the given keys (a sorted array of n) from the objects
 * of model m that have those keys: a key none has loses its row.  The caller
 * computes the sum again.
 */
void
modelstore_put(SchemaModel *m, char **keys, int n)
{
	ModelStore	st;
	RowGroup   *groups;
	int			nrows;
	int			g = 0;

	if (n == 0)
		return;
	store_open(&st, true);
	store_snapshot(&st);
	for (int i = 0; i < n; i++)
		(void) delete_key(&st, keys[i], NULL, NULL);
	groups = group_rows(m, &nrows);
	for (int i = 0; i < n; i++)
	{
		while (g < nrows && strcmp(groups[g].key, keys[i]) < 0)
			g++;
		if (g < nrows && strcmp(groups[g].key, keys[i]) == 0)
			insert_row(&st, m, &groups[g], NULL);
	}
	store_close(&st);
}

/*
 * The value of the record named name (the row "m:<name>": "" the marker that
 * a model was recorded, "sum", "epoch"), or NULL.  Read by the primary key,
 * as the transaction's writes so far left it: a call reads and writes these
 * a few times, and a statement for each cost more to plan in a new session
 * than the rest of a small deploy's drift bookkeeping.
 */
char *
modelstore_value(const char *name)
{
	ModelStore	st;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	char	   *value = NULL;

	store_open(&st, false);
	store_snapshot(&st);
	scan = key_scan_begin(&st, psprintf("m:%s", name), &key);
	if (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Datum	   *definitions;

		if (row_texts(&st, tup, COL_DEFINITIONS, &definitions) > 0)
			value = TextDatumGetCString(definitions[0]);
	}
	systable_endscan(scan);
	store_close(&st);
	return value;
}

/* Sets the value of the record named name (see modelstore_value()). */
void
modelstore_set_value(const char *name, const char *value)
{
	ModelObject row = {"model", (char *) name, (char *) value, "", "", InvalidOid};
	SchemaModel m = {1, 1, &row};
	int			member = 0;
	RowGroup	g = {psprintf("m:%s", name), &member, 1};
	ModelStore	st;

	store_open(&st, true);
	store_snapshot(&st);
	(void) delete_key(&st, g.key, NULL, NULL);
	insert_row(&st, &m, &g, NULL);
	store_close(&st);
}
