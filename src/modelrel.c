/*
 * modelrel.c
 *		The schema model's relations (tables, foreign tables, views,
 *		materialized views, sequences) with their columns, constraints,
 *		indexes, triggers and policies, read one relation at a time from the
 *		system caches and the catalogs' indexes.
 *
 * A call's revisions touch a few relations, or a few thousand: reading each
 * by OID costs no planning and no executor, where schemamodel.c's
 * set-based statement spent more on planning than a small read costs, and
 * probed the same indexes row by row anyway.  The definitions are the ones
 * README "Drift" describes, made by the server's own deparsers called
 * directly; sql/schemamodel.sql pins their text.  The caller has pinned the
 * settings definitions are read under (schemamodel_settings_push()).
 */
#include "migrate.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "catalog/pg_attrdef.h"
#include "catalog/pg_attribute.h"
#include "catalog/pg_class.h"
#include "catalog/pg_constraint.h"
#include "catalog/pg_depend.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_description.h"
#include "catalog/pg_index.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_opclass.h"
#include "catalog/pg_policy.h"
#include "catalog/pg_sequence.h"
#include "catalog/pg_trigger.h"
#include "commands/defrem.h"
#include "commands/trigger.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/fmgrprotos.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"

/* What every object of one relation shares. */
typedef struct RelRead
{
	SchemaModel *out;
	MemoryContext out_cxt;		/* where the objects go */
	Oid			relid;
	char		relkind;
	char	   *nspname;
	char	   *ident;			/* "schema"."relation", quoted */
	char	   *root;			/* "r:" and ident */
	List	   *comments;		/* RelComment of the relation and its columns */
	struct RelColumn *cols;		/* a table's columns by attnum, or NULL */
	int			ncols;
} RelRead;

/* A comment on the relation (subid 0) or one of its columns. */
typedef struct RelComment
{
	int32		subid;
	char	   *text;
} RelComment;

/* An index scan of a catalog by the first keys of one of its indexes. */
typedef struct CatalogScan
{
	Relation	rel;
	SysScanDesc scan;
} CatalogScan;

/*
 * The catalogs and indexes a read has opened, kept open to its end
 * (modelrel_end()): opening and closing them for each of a read's thousands
 * of scans went through the lock manager every time.  modelrel_begin()
 * forgets what an earlier read left after an error (the abort closed it).
 */
#define MAX_OPEN_CATALOGS 16

static struct
{
	Oid			index;
	Relation	rel;
	Relation	irel;
}			open_catalogs[MAX_OPEN_CATALOGS];
static int	n_open_catalogs = 0;

/*
 * Per read, the highest OID that has a comment, that has a policy, and of a
 * relation that is a member of an extension, found when first needed: an
 * object above it has none, and a table a deploy just created is above all
 * three unless its revisions gave it one.  Saves a catalog scan per table,
 * index and constraint read.
 */
typedef struct ReadBounds
{
	bool		known;
	Oid			comment;
	Oid			policy;
	Oid			extension_relation;
} ReadBounds;

static ReadBounds bounds;

/* Starts a read: no catalog open yet, no bound known. */
void
modelrel_begin(void)
{
	n_open_catalogs = 0;
	bounds.known = false;
}

/* Ends a read: closes what it opened; the locks stay to the transaction's end. */
void
modelrel_end(void)
{
	for (int i = 0; i < n_open_catalogs; i++)
	{
		index_close(open_catalogs[i].irel, NoLock);
		table_close(open_catalogs[i].rel, NoLock);
	}
	n_open_catalogs = 0;
}

static void
scan_begin(CatalogScan *cs, Oid catalog, Oid index, int nkeys, ScanKey keys)
{
	int			i;

	for (i = 0; i < n_open_catalogs && open_catalogs[i].index != index; i++)
		;
	if (i == n_open_catalogs)
	{
		if (n_open_catalogs == MAX_OPEN_CATALOGS)
			elog(ERROR, "too many catalogs open in one schema model read");
		open_catalogs[i].rel = table_open(catalog, AccessShareLock);
		open_catalogs[i].irel = index_open(index, AccessShareLock);
		open_catalogs[i].index = index;
		n_open_catalogs++;
	}
	cs->rel = open_catalogs[i].rel;
	cs->scan = systable_beginscan_ordered(cs->rel, open_catalogs[i].irel, NULL, nkeys, keys);
}

static void
scan_end(CatalogScan *cs)
{
	systable_endscan_ordered(cs->scan);
}

/* A scan key of an OID column. */
static void
oid_key(ScanKey key, AttrNumber attno, Oid value)
{
	ScanKeyInit(key, attno, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(value));
}

/* The first key (an OID) of the last entry of a catalog's index, or InvalidOid. */
static Oid
last_key_oid(Oid catalog, Oid index, AttrNumber column)
{
	CatalogScan cs;
	HeapTuple	tup;
	Oid			last = InvalidOid;

	scan_begin(&cs, catalog, index, 0, NULL);
	if (HeapTupleIsValid(tup = systable_getnext_ordered(cs.scan, BackwardScanDirection)))
	{
		bool		isnull;
		Datum		d = heap_getattr(tup, column, RelationGetDescr(cs.rel), &isnull);

		last = isnull ? InvalidOid : DatumGetObjectId(d);
	}
	scan_end(&cs);
	return last;
}

/* The highest OID of a relation that is a member of an extension. */
static Oid
last_extension_relation(void)
{
	ScanKeyData key;
	CatalogScan cs;
	HeapTuple	tup;
	Oid			last = InvalidOid;

	oid_key(&key, Anum_pg_depend_refclassid, ExtensionRelationId);
	scan_begin(&cs, DependRelationId, DependReferenceIndexId, 1, &key);
	while (HeapTupleIsValid(tup = systable_getnext_ordered(cs.scan, ForwardScanDirection)))
	{
		Form_pg_depend dep = (Form_pg_depend) GETSTRUCT(tup);

		if (dep->deptype == DEPENDENCY_EXTENSION && dep->classid == RelationRelationId &&
			dep->objid > last)
			last = dep->objid;
	}
	scan_end(&cs);
	return last;
}

/* The read's bounds, found at the first call. */
static ReadBounds *
read_bounds(void)
{
	if (!bounds.known)
	{
		bounds.comment = last_key_oid(DescriptionRelationId, DescriptionObjIndexId,
									  Anum_pg_description_objoid);
		bounds.policy = last_key_oid(PolicyRelationId, PolicyPolrelidPolnameIndexId,
									 Anum_pg_policy_polrelid);
		bounds.extension_relation = last_extension_relation();
		bounds.known = true;
	}
	return &bounds;
}

/*
 * Calls a deparser taking (oid) or (text, oid) as SQL would, NULL when it
 * returns NULL (an object dropped meanwhile): DirectFunctionCall refuses a
 * NULL result.
 */
static char *
deparse(PGFunction fn, int nargs, Datum arg0, Datum arg1)
{
	LOCAL_FCINFO(fcinfo, 2);
	Datum		result;

	InitFunctionCallInfoData(*fcinfo, NULL, nargs, InvalidOid, NULL, NULL);
	fcinfo->args[0].value = arg0;
	fcinfo->args[0].isnull = false;
	fcinfo->args[1].value = arg1;
	fcinfo->args[1].isnull = false;
	result = fn(fcinfo);
	return fcinfo->isnull ? NULL : TextDatumGetCString(result);
}

/* A cstring output function's text of an OID (regclass, regcollation). */
static char *
oid_text(PGFunction out, Oid oid)
{
	return DatumGetCString(DirectFunctionCall1(out, ObjectIdGetDatum(oid)));
}

/* pg_get_userbyid(), quoted. */
static char *
role_text(Oid roleid)
{
	char	   *name = GetUserNameFromId(roleid, true);

	if (name == NULL)
		name = psprintf("unknown (OID=%u)", roleid);
	return (char *) quote_identifier(name);
}

static int
cstring_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

/* Sorts strings in byte order (COLLATE "C") and appends them joined by sep. */
static void
append_sorted(StringInfo buf, char **items, int n, const char *sep)
{
	qsort(items, n, sizeof(char *), cstring_cmp);
	for (int i = 0; i < n; i++)
	{
		if (i > 0)
			appendStringInfoString(buf, sep);
		appendStringInfoString(buf, items[i]);
	}
}

/* The items of an ACL as text, unsorted. */
static char **
acl_items(Acl *acl, int *n)
{
	AclItem    *items = ACL_DAT(acl);
	char	  **texts;

	*n = ACL_NUM(acl);
	texts = palloc(sizeof(char *) * Max(*n, 1));
	for (int i = 0; i < *n; i++)
		texts[i] = DatumGetCString(DirectFunctionCall1(aclitemout, PointerGetDatum(&items[i])));
	return texts;
}

/* "\nacl " and an object's ACL, acldefault() when NULL, sorted. */
static void
append_object_acl(StringInfo buf, HeapTuple classtup, ObjectType objtype, Oid owner)
{
	bool		isnull;
	Datum		d = SysCacheGetAttr(RELOID, classtup, Anum_pg_class_relacl, &isnull);
	Acl		   *acl = isnull ? acldefault(objtype, owner) : DatumGetAclP(d);
	int			n;
	char	  **items = acl_items(acl, &n);

	appendStringInfoString(buf, "\nacl ");
	append_sorted(buf, items, n, ",");
}

/* "\noptions " and the storage options, sorted, when there are any. */
static void
append_options(StringInfo buf, HeapTuple classtup)
{
	bool		isnull;
	Datum		d = SysCacheGetAttr(RELOID, classtup, Anum_pg_class_reloptions, &isnull);
	Datum	   *elems;
	int			n;
	char	  **items;

	if (isnull)
		return;
	deconstruct_array(DatumGetArrayTypeP(d), TEXTOID, -1, false, TYPALIGN_INT, &elems, NULL, &n);
	if (n == 0)
		return;
	items = palloc(sizeof(char *) * n);
	for (int i = 0; i < n; i++)
		items[i] = TextDatumGetCString(elems[i]);
	appendStringInfoString(buf, "\noptions ");
	append_sorted(buf, items, n, ",");
}

/* "\ncomment " and a comment as a JSON string, when there is one. */
static void
append_comment(StringInfo buf, const char *comment)
{
	if (comment == NULL)
		return;
	appendStringInfoString(buf, "\ncomment ");
	escape_json(buf, comment);
}

/*
 * The comment of an object of the relation other than a column (an index,
 * constraint, trigger or policy: classoid its catalog), or NULL: what
 * GetComment() reads, with scan_begin()'s locking.
 */
static char *
object_comment(Oid objoid, Oid classoid)
{
	ScanKeyData keys[3];
	CatalogScan cs;
	HeapTuple	tup;
	char	   *comment = NULL;

	if (objoid > read_bounds()->comment)
		return NULL;
	oid_key(&keys[0], Anum_pg_description_objoid, objoid);
	oid_key(&keys[1], Anum_pg_description_classoid, classoid);
	ScanKeyInit(&keys[2], Anum_pg_description_objsubid, BTEqualStrategyNumber, F_INT4EQ,
				Int32GetDatum(0));
	scan_begin(&cs, DescriptionRelationId, DescriptionObjIndexId, 3, keys);
	if (HeapTupleIsValid(tup = systable_getnext_ordered(cs.scan, ForwardScanDirection)))
	{
		bool		isnull;
		Datum		description = heap_getattr(tup, Anum_pg_description_description,
											   RelationGetDescr(cs.rel), &isnull);

		if (!isnull)
			comment = TextDatumGetCString(description);
	}
	scan_end(&cs);
	return comment;
}

/* The comment of the relation (subid 0) or of one of its columns. */
static const char *
rel_comment(RelRead *rr, int32 subid)
{
	ListCell   *lc;

	foreach(lc, rr->comments)
	{
		RelComment *c = lfirst(lc);

		if (c->subid == subid)
			return c->text;
	}
	return NULL;
}

/* Reads the comments of the relation and its columns: one scan. */
static void
read_rel_comments(RelRead *rr)
{
	ScanKeyData keys[2];
	CatalogScan cs;
	HeapTuple	tup;

	if (rr->relid > read_bounds()->comment)
		return;
	oid_key(&keys[0], Anum_pg_description_objoid, rr->relid);
	oid_key(&keys[1], Anum_pg_description_classoid, RelationRelationId);
	scan_begin(&cs, DescriptionRelationId, DescriptionObjIndexId, 2, keys);
	while (HeapTupleIsValid(tup = systable_getnext_ordered(cs.scan, ForwardScanDirection)))
	{
		Form_pg_description d = (Form_pg_description) GETSTRUCT(tup);
		bool		isnull;
		Datum		description = heap_getattr(tup, Anum_pg_description_description,
											   RelationGetDescr(cs.rel), &isnull);
		RelComment *c;

		if (isnull)
			continue;
		c = palloc(sizeof(RelComment));
		c->subid = d->objsubid;
		c->text = TextDatumGetCString(description);
		rr->comments = lappend(rr->comments, c);
	}
	scan_end(&cs);
}

/* Adds an object; a NULL definition (a deparser's NULL) is "", as the statement made it. */
static void
emit(RelRead *rr, const char *kind, const char *identity, const char *definition)
{
	MemoryContext old = MemoryContextSwitchTo(rr->out_cxt);
	ModelObject *o = schemamodel_push(rr->out);

	o->kind = pstrdup(kind);
	o->identity = pstrdup(identity);
	o->definition = pstrdup(definition != NULL ? definition : "");
	o->schema = pstrdup(rr->nspname);
	o->root = pstrdup(rr->root);
	o->root_oid = rr->relid;
	MemoryContextSwitchTo(old);
}

/* rr->ident, a dot and a quoted name: the identity of a part of the relation. */
static char *
part_identity(RelRead *rr, const char *name)
{
	return psprintf("%s.%s", rr->ident, quote_identifier(name));
}

/* A column of the relation, copied out of its scan. */
typedef struct RelColumn
{
	HeapTuple	tuple;
	Form_pg_attribute att;
	Datum		adbin;			/* its default or generation expression */
	bool		has_adbin;
} RelColumn;

static int
column_cmp(const void *a, const void *b)
{
	return (int) ((const RelColumn *) a)->att->attnum - (int) ((const RelColumn *) b)->att->attnum;
}

/*
 * A column the read already holds (a table's), or NULL: cheaper than the
 * syscache for a table just created, whose columns it has not loaded yet.
 */
static Form_pg_attribute
held_column(RelRead *rr, AttrNumber attnum)
{
	int			lo = 0,
				hi = rr->ncols - 1;

	while (lo <= hi)
	{
		int			mid = (lo + hi) / 2;
		AttrNumber	at = rr->cols[mid].att->attnum;

		if (at == attnum)
			return rr->cols[mid].att;
		if (at < attnum)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return NULL;
}

/* The relation's columns in order, with their default expressions. */
static RelColumn *
read_columns(RelRead *rr, int *ncols, TupleDesc *attdesc)
{
	ScanKeyData keys[2];
	CatalogScan cs;
	HeapTuple	tup;
	RelColumn  *cols = NULL;
	int			n = 0,
				cap = 16;
	bool		any_default = false;

	cols = palloc(sizeof(RelColumn) * cap);
	oid_key(&keys[0], Anum_pg_attribute_attrelid, rr->relid);
	ScanKeyInit(&keys[1], Anum_pg_attribute_attnum, BTGreaterStrategyNumber, F_INT2GT,
				Int16GetDatum(0));
	scan_begin(&cs, AttributeRelationId, AttributeRelidNumIndexId, 2, keys);
	*attdesc = CreateTupleDescCopy(RelationGetDescr(cs.rel));
	while (HeapTupleIsValid(tup = systable_getnext_ordered(cs.scan, ForwardScanDirection)))
	{
		Form_pg_attribute att = (Form_pg_attribute) GETSTRUCT(tup);

		if (att->attisdropped)
			continue;
		if (n == cap)
			cols = repalloc(cols, sizeof(RelColumn) * (cap *= 2));
		cols[n].tuple = heap_copytuple(tup);
		cols[n].att = (Form_pg_attribute) GETSTRUCT(cols[n].tuple);
		cols[n].has_adbin = false;
		n++;
	}
	scan_end(&cs);
	qsort(cols, n, sizeof(RelColumn), column_cmp);
	*ncols = n;

	/* the defaults: one scan of pg_attrdef, when a column has one (atthasdef) */
	for (int i = 0; i < n && !any_default; i++)
		any_default = cols[i].att->atthasdef;
	if (!any_default)
		return cols;
	oid_key(&keys[0], Anum_pg_attrdef_adrelid, rr->relid);
	scan_begin(&cs, AttrDefaultRelationId, AttrDefaultIndexId, 1, keys);
	while (HeapTupleIsValid(tup = systable_getnext_ordered(cs.scan, ForwardScanDirection)))
	{
		Form_pg_attrdef ad = (Form_pg_attrdef) GETSTRUCT(tup);
		bool		isnull;
		Datum		adbin = heap_getattr(tup, Anum_pg_attrdef_adbin, RelationGetDescr(cs.rel), &isnull);

		for (int i = 0; i < n && !isnull; i++)
			if (cols[i].att->attnum == ad->adnum)
			{
				cols[i].adbin = PointerGetDatum(PG_DETOAST_DATUM_COPY(adbin));
				cols[i].has_adbin = true;
			}
	}
	scan_end(&cs);
	return cols;
}

/* The column objects. */
static void
emit_columns(RelRead *rr, RelColumn *cols, int n, TupleDesc attdesc)
{
	StringInfoData def;

	initStringInfo(&def);
	for (int i = 0; i < n; i++)
	{
		Form_pg_attribute att = cols[i].att;
		bool		isnull;
		Datum		acl;
		bool		null_def = false;

		resetStringInfo(&def);
		appendStringInfo(&def, "type %s",
						 format_type_extended(att->atttypid, att->atttypmod,
											  FORMAT_TYPE_TYPEMOD_GIVEN | FORMAT_TYPE_ALLOW_INVALID));
		if (att->attnotnull)
			appendStringInfoString(&def, "\nnot null");
		if (att->attgenerated == ATTRIBUTE_GENERATED_STORED)
		{
			char	   *expr = cols[i].has_adbin ?
				deparse(pg_get_expr, 2, cols[i].adbin, ObjectIdGetDatum(rr->relid)) : NULL;

			if (expr == NULL)
				null_def = true;
			else
				appendStringInfo(&def, "\ngenerated always as (%s) stored", expr);
		}
		else if (cols[i].has_adbin)
		{
			/* a default names no column: deparsed without its table */
			char	   *expr = deparse(pg_get_expr, 2, cols[i].adbin, ObjectIdGetDatum(InvalidOid));

			if (expr != NULL)
				appendStringInfo(&def, "\ndefault %s", expr);
		}
		if (att->attidentity == ATTRIBUTE_IDENTITY_ALWAYS)
			appendStringInfoString(&def, "\ngenerated always as identity");
		else if (att->attidentity == ATTRIBUTE_IDENTITY_BY_DEFAULT)
			appendStringInfoString(&def, "\ngenerated by default as identity");
		if (att->attcollation != get_typcollation(att->atttypid))
			appendStringInfo(&def, "\ncollate %s", oid_text(regcollationout, att->attcollation));
		acl = heap_getattr(cols[i].tuple, Anum_pg_attribute_attacl, attdesc, &isnull);
		if (!isnull)
		{
			int			nitems;
			char	  **items = acl_items(DatumGetAclP(acl), &nitems);

			if (nitems > 0)
			{
				appendStringInfoString(&def, "\nacl ");
				append_sorted(&def, items, nitems, ",");
			}
		}
		append_comment(&def, rel_comment(rr, att->attnum));
		emit(rr, "column", part_identity(rr, NameStr(att->attname)), null_def ? NULL : def.data);
	}
}

/* The table object (a table, partitioned table or foreign table). */
static void
emit_table(RelRead *rr, HeapTuple classtup, RelColumn *cols, int ncols)
{
	Form_pg_class cls = (Form_pg_class) GETSTRUCT(classtup);
	StringInfoData def;
	ScanKeyData key;
	CatalogScan cs;
	HeapTuple	tup;
	bool		isnull;
	Datum		bound;
	int			nparents = 0;

	initStringInfo(&def);
	appendStringInfo(&def, "relkind %c\npersistence %c\nowner %s\ncolumns ",
					 cls->relkind, cls->relpersistence, role_text(cls->relowner));
	for (int i = 0; i < ncols; i++)
		appendStringInfo(&def, "%s%s", i > 0 ? ", " : "", quote_identifier(NameStr(cols[i].att->attname)));

	/* the parents, in order */
	oid_key(&key, Anum_pg_inherits_inhrelid, rr->relid);
	scan_begin(&cs, InheritsRelationId, InheritsRelidSeqnoIndexId, 1, &key);
	while (HeapTupleIsValid(tup = systable_getnext_ordered(cs.scan, ForwardScanDirection)))
	{
		Form_pg_inherits inh = (Form_pg_inherits) GETSTRUCT(tup);

		appendStringInfo(&def, "%s%s", nparents++ == 0 ? "\ninherits " : ", ",
						 oid_text(regclassout, inh->inhparent));
	}
	scan_end(&cs);

	bound = SysCacheGetAttr(RELOID, classtup, Anum_pg_class_relpartbound, &isnull);
	if (!isnull)
	{
		char	   *text = deparse(pg_get_expr, 2, bound, ObjectIdGetDatum(rr->relid));

		if (text != NULL)
			appendStringInfo(&def, "\npartition bound %s", text);
	}
	if (cls->relkind == RELKIND_PARTITIONED_TABLE)
	{
		char	   *key_text = deparse(pg_get_partkeydef, 1, ObjectIdGetDatum(rr->relid), (Datum) 0);

		if (key_text != NULL)
			appendStringInfo(&def, "\npartition by %s", key_text);
	}
	append_options(&def, classtup);
	if (cls->relrowsecurity)
		appendStringInfoString(&def, "\nrow level security");
	if (cls->relforcerowsecurity)
		appendStringInfoString(&def, "\nforce row level security");
	append_object_acl(&def, classtup, OBJECT_TABLE, cls->relowner);
	append_comment(&def, rel_comment(rr, 0));
	emit(rr, "table", rr->ident, def.data);
}

/* The view or materialized view object. */
static void
emit_view(RelRead *rr, HeapTuple classtup)
{
	Form_pg_class cls = (Form_pg_class) GETSTRUCT(classtup);
	StringInfoData def;
	char	   *viewdef;

	initStringInfo(&def);
	appendStringInfo(&def, "owner %s", role_text(cls->relowner));
	append_options(&def, classtup);
	append_object_acl(&def, classtup, OBJECT_TABLE, cls->relowner);
	append_comment(&def, rel_comment(rr, 0));
	viewdef = deparse(pg_get_viewdef, 1, ObjectIdGetDatum(rr->relid), (Datum) 0);
	appendStringInfo(&def, "\ndefinition %s", viewdef != NULL ? viewdef : "");
	emit(rr, cls->relkind == RELKIND_VIEW ? "view" : "materialized view", rr->ident,
		 viewdef != NULL ? def.data : NULL);
}

/* "\nowned by " and the column a sequence belongs to, if any. */
static void
append_owned_by(StringInfo def, Oid seqid)
{
	ScanKeyData keys[2];
	CatalogScan cs;
	HeapTuple	tup;

	oid_key(&keys[0], Anum_pg_depend_classid, RelationRelationId);
	oid_key(&keys[1], Anum_pg_depend_objid, seqid);
	scan_begin(&cs, DependRelationId, DependDependerIndexId, 2, keys);
	while (HeapTupleIsValid(tup = systable_getnext_ordered(cs.scan, ForwardScanDirection)))
	{
		Form_pg_depend dep = (Form_pg_depend) GETSTRUCT(tup);
		char	   *attname;

		if ((dep->deptype != DEPENDENCY_AUTO && dep->deptype != DEPENDENCY_INTERNAL) ||
			dep->refclassid != RelationRelationId || dep->refobjsubid <= 0)
			continue;
		attname = get_attname(dep->refobjid, (AttrNumber) dep->refobjsubid, true);
		if (attname == NULL)
			continue;
		appendStringInfo(def, "\nowned by %s.%s", oid_text(regclassout, dep->refobjid),
						 quote_identifier(attname));
		break;
	}
	scan_end(&cs);
}

/* The sequence object. */
static void
emit_sequence(RelRead *rr, HeapTuple classtup)
{
	Form_pg_class cls = (Form_pg_class) GETSTRUCT(classtup);
	HeapTuple	seqtup = SearchSysCache1(SEQRELID, ObjectIdGetDatum(rr->relid));
	Form_pg_sequence seq;
	StringInfoData def;

	if (!HeapTupleIsValid(seqtup))
		return;
	seq = (Form_pg_sequence) GETSTRUCT(seqtup);
	initStringInfo(&def);
	appendStringInfo(&def, "type %s\nstart " INT64_FORMAT "\nincrement " INT64_FORMAT
					 "\nminvalue " INT64_FORMAT "\nmaxvalue " INT64_FORMAT "\ncache " INT64_FORMAT,
					 format_type_extended(seq->seqtypid, -1, FORMAT_TYPE_ALLOW_INVALID),
					 seq->seqstart, seq->seqincrement, seq->seqmin, seq->seqmax, seq->seqcache);
	if (seq->seqcycle)
		appendStringInfoString(&def, "\ncycle");
	ReleaseSysCache(seqtup);
	append_owned_by(&def, rr->relid);
	appendStringInfo(&def, "\nowner %s", role_text(cls->relowner));
	append_object_acl(&def, classtup, OBJECT_SEQUENCE, cls->relowner);
	append_comment(&def, rel_comment(rr, 0));
	emit(rr, "sequence", rr->ident, def.data);
}


/*
 * pg_get_constraintdef()'s text composed for a primary key or unique
 * constraint without INCLUDE columns, as that function writes it: it reads
 * the constraint again with a new snapshot of its own (a scan of
 * pg_constraint and of the proc array), the costliest part of reading a
 * table a revision created.  NULL for any other constraint.
 * sql/schemamodel.sql compares both for many shapes.
 */
static char *
composed_constraintdef(RelRead *rr, HeapTuple contup, TupleDesc condesc)
{
	Form_pg_constraint con = (Form_pg_constraint) GETSTRUCT(contup);
	HeapTuple	indtup;
	bool		nulls_not_distinct;
	int			index_columns;
	bool		isnull;
	Datum		conkey;
	Datum	   *keys;
	int			nkeys;
	StringInfoData buf;

	if ((con->contype != CONSTRAINT_PRIMARY && con->contype != CONSTRAINT_UNIQUE) ||
		!OidIsValid(con->conindid))
		return NULL;
	indtup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(con->conindid));
	if (!HeapTupleIsValid(indtup))
		return NULL;
	nulls_not_distinct = ((Form_pg_index) GETSTRUCT(indtup))->indnullsnotdistinct;
	index_columns = ((Form_pg_index) GETSTRUCT(indtup))->indnatts;
	ReleaseSysCache(indtup);
	conkey = heap_getattr(contup, Anum_pg_constraint_conkey, condesc, &isnull);
	if (isnull)
		return NULL;
	deconstruct_array(DatumGetArrayTypeP(conkey), INT2OID, 2, true, TYPALIGN_SHORT, &keys, NULL, &nkeys);
	/* INCLUDE columns: pg_get_constraintdef() */
	if (nkeys != index_columns)
		return NULL;
	initStringInfo(&buf);
	appendStringInfoString(&buf, con->contype == CONSTRAINT_PRIMARY ? "PRIMARY KEY " : "UNIQUE ");
	if (con->contype == CONSTRAINT_UNIQUE && nulls_not_distinct)
		appendStringInfoString(&buf, "NULLS NOT DISTINCT ");
	appendStringInfoChar(&buf, '(');
	for (int i = 0; i < nkeys; i++)
	{
		Form_pg_attribute held = held_column(rr, DatumGetInt16(keys[i]));
		char	   *name = held ? NameStr(held->attname) : get_attname(rr->relid, DatumGetInt16(keys[i]), true);

		if (name == NULL)
			return NULL;
		appendStringInfo(&buf, "%s%s", i > 0 ? ", " : "", quote_identifier(name));
	}
	appendStringInfoChar(&buf, ')');
	if (con->condeferrable)
		appendStringInfoString(&buf, " DEFERRABLE");
	if (con->condeferred)
		appendStringInfoString(&buf, " INITIALLY DEFERRED");
	if (!con->convalidated)
		appendStringInfoString(&buf, " NOT VALID");
	return buf.data;
}
/* The constraints of the relation. */
static void
emit_constraints(RelRead *rr)
{
	ScanKeyData key;
	CatalogScan cs;
	HeapTuple	tup;
	StringInfoData def;

	initStringInfo(&def);
	oid_key(&key, Anum_pg_constraint_conrelid, rr->relid);
	scan_begin(&cs, ConstraintRelationId, ConstraintRelidTypidNameIndexId, 1, &key);
	while (HeapTupleIsValid(tup = systable_getnext_ordered(cs.scan, ForwardScanDirection)))
	{
		Form_pg_constraint con = (Form_pg_constraint) GETSTRUCT(tup);
		char	   *text = composed_constraintdef(rr, tup, RelationGetDescr(cs.rel));

		if (text == NULL)
			text = deparse(pg_get_constraintdef, 1, ObjectIdGetDatum(con->oid), (Datum) 0);

		resetStringInfo(&def);
		if (text != NULL)
		{
			appendStringInfoString(&def, text);
			append_comment(&def, object_comment(con->oid, ConstraintRelationId));
		}
		emit(rr, "constraint", part_identity(rr, NameStr(con->conname)), text != NULL ? def.data : NULL);
	}
	scan_end(&cs);
}

/*
 * pg_get_indexdef()'s text composed for an index of one plain column with
 * its type's default operator class, default collation and order, and no
 * option (most indexes), as pg_get_indexdef() writes it: that function
 * looks up the default operator class by scanning pg_opclass, the costliest
 * part of the model.  NULL for any other index.  sql/schemamodel.sql
 * compares both for many shapes.
 */
static char *
composed_indexdef(RelRead *rr, HeapTuple indtup, TupleDesc inddesc, HeapTuple idxclass)
{
	Form_pg_index ind = (Form_pg_index) GETSTRUCT(indtup);
	Form_pg_class idx = (Form_pg_class) GETSTRUCT(idxclass);
	bool		isnull;
	int2vector *options;
	oidvector  *classes;
	oidvector  *collations;
	HeapTuple	opctup;
	HeapTuple	atttup;
	Form_pg_attribute att;
	bool		plain;
	char	   *amname;
	char	   *result = NULL;

	if (ind->indnatts != 1 || ind->indnullsnotdistinct || rr->relkind == RELKIND_PARTITIONED_TABLE ||
		ind->indkey.values[0] <= 0 ||
		!heap_attisnull(indtup, Anum_pg_index_indexprs, NULL) ||
		!heap_attisnull(indtup, Anum_pg_index_indpred, NULL))
		return NULL;
	(void) SysCacheGetAttr(RELOID, idxclass, Anum_pg_class_reloptions, &isnull);
	if (!isnull)
		return NULL;
	options = (int2vector *) DatumGetPointer(heap_getattr(indtup, Anum_pg_index_indoption, inddesc, &isnull));
	if (isnull || options->values[0] != 0)
		return NULL;
	classes = (oidvector *) DatumGetPointer(heap_getattr(indtup, Anum_pg_index_indclass, inddesc, &isnull));
	if (isnull)
		return NULL;
	collations = (oidvector *) DatumGetPointer(heap_getattr(indtup, Anum_pg_index_indcollation, inddesc, &isnull));
	if (isnull)
		return NULL;
	opctup = SearchSysCache1(CLAOID, ObjectIdGetDatum(classes->values[0]));
	if (!HeapTupleIsValid(opctup))
		return NULL;
	att = held_column(rr, ind->indkey.values[0]);
	atttup = NULL;
	if (att == NULL)
	{
		atttup = SearchSysCache2(ATTNUM, ObjectIdGetDatum(rr->relid), Int16GetDatum(ind->indkey.values[0]));
		if (!HeapTupleIsValid(atttup))
		{
			ReleaseSysCache(opctup);
			return NULL;
		}
		att = (Form_pg_attribute) GETSTRUCT(atttup);
	}
	plain = ((Form_pg_opclass) GETSTRUCT(opctup))->opcdefault &&
		((Form_pg_opclass) GETSTRUCT(opctup))->opcintype == att->atttypid &&
		collations->values[0] == att->attcollation;
	amname = plain ? get_am_name(idx->relam) : NULL;
	if (amname != NULL)
		result = psprintf("CREATE %sINDEX %s ON %s USING %s (%s)",
						  ind->indisunique ? "UNIQUE " : "",
						  quote_identifier(NameStr(idx->relname)), rr->ident,
						  quote_identifier(amname),
						  quote_identifier(NameStr(att->attname)));
	if (atttup != NULL)
		ReleaseSysCache(atttup);
	ReleaseSysCache(opctup);
	return result;
}

/* The indexes of the relation. */
static void
emit_indexes(RelRead *rr)
{
	ScanKeyData key;
	CatalogScan cs;
	HeapTuple	tup;
	StringInfoData def;

	initStringInfo(&def);
	oid_key(&key, Anum_pg_index_indrelid, rr->relid);
	scan_begin(&cs, IndexRelationId, IndexIndrelidIndexId, 1, &key);
	while (HeapTupleIsValid(tup = systable_getnext_ordered(cs.scan, ForwardScanDirection)))
	{
		Form_pg_index ind = (Form_pg_index) GETSTRUCT(tup);
		HeapTuple	idxclass = SearchSysCache1(RELOID, ObjectIdGetDatum(ind->indexrelid));
		char	   *text;
		char	   *identity;

		if (!HeapTupleIsValid(idxclass))
			continue;
		text = composed_indexdef(rr, tup, RelationGetDescr(cs.rel), idxclass);
		if (text == NULL)
			text = deparse(pg_get_indexdef, 1, ObjectIdGetDatum(ind->indexrelid), (Datum) 0);
		identity = psprintf("%s.%s", quote_identifier(rr->nspname),
							quote_identifier(NameStr(((Form_pg_class) GETSTRUCT(idxclass))->relname)));
		ReleaseSysCache(idxclass);
		resetStringInfo(&def);
		if (text != NULL)
		{
			appendStringInfoString(&def, text);
			if (!ind->indisvalid)
				appendStringInfoString(&def, "\ninvalid");
			append_comment(&def, object_comment(ind->indexrelid, RelationRelationId));
		}
		emit(rr, "index", identity, text != NULL ? def.data : NULL);
	}
	scan_end(&cs);
}

/* The triggers of the relation but the internal ones (of foreign keys). */
static void
emit_triggers(RelRead *rr)
{
	ScanKeyData key;
	CatalogScan cs;
	HeapTuple	tup;
	StringInfoData def;

	initStringInfo(&def);
	oid_key(&key, Anum_pg_trigger_tgrelid, rr->relid);
	scan_begin(&cs, TriggerRelationId, TriggerRelidNameIndexId, 1, &key);
	while (HeapTupleIsValid(tup = systable_getnext_ordered(cs.scan, ForwardScanDirection)))
	{
		Form_pg_trigger tg = (Form_pg_trigger) GETSTRUCT(tup);
		char	   *text;

		if (tg->tgisinternal)
			continue;
		text = deparse(pg_get_triggerdef, 1, ObjectIdGetDatum(tg->oid), (Datum) 0);
		resetStringInfo(&def);
		if (text != NULL)
		{
			appendStringInfoString(&def, text);
			if (tg->tgenabled != TRIGGER_FIRES_ON_ORIGIN)
				appendStringInfo(&def, "\nenabled %c", tg->tgenabled);
			append_comment(&def, object_comment(tg->oid, TriggerRelationId));
		}
		emit(rr, "trigger", part_identity(rr, NameStr(tg->tgname)), text != NULL ? def.data : NULL);
	}
	scan_end(&cs);
}

/* "\n<label> (<expression>)" of a policy, when it has that expression. */
static void
append_policy_expr(StringInfo def, const char *label, HeapTuple tup, AttrNumber attno,
				   TupleDesc desc, Oid relid)
{
	bool		isnull;
	Datum		d = heap_getattr(tup, attno, desc, &isnull);
	char	   *text = isnull ? NULL : deparse(pg_get_expr, 2, d, ObjectIdGetDatum(relid));

	if (text != NULL)
		appendStringInfo(def, "\n%s (%s)", label, text);
}

/* The row security policies of the relation. */
static void
emit_policies(RelRead *rr)
{
	ScanKeyData key;
	CatalogScan cs;
	HeapTuple	tup;
	StringInfoData def;

	if (rr->relid > read_bounds()->policy)
		return;
	initStringInfo(&def);
	oid_key(&key, Anum_pg_policy_polrelid, rr->relid);
	scan_begin(&cs, PolicyRelationId, PolicyPolrelidPolnameIndexId, 1, &key);
	while (HeapTupleIsValid(tup = systable_getnext_ordered(cs.scan, ForwardScanDirection)))
	{
		Form_pg_policy pol = (Form_pg_policy) GETSTRUCT(tup);
		TupleDesc	desc = RelationGetDescr(cs.rel);
		bool		isnull;
		Datum		d;
		const char *cmd;

		switch (pol->polcmd)
		{
			case 'r':
				cmd = "select";
				break;
			case 'a':
				cmd = "insert";
				break;
			case 'w':
				cmd = "update";
				break;
			case 'd':
				cmd = "delete";
				break;
			default:
				cmd = "all";
				break;
		}
		resetStringInfo(&def);
		appendStringInfo(&def, "as %s\nfor %s\nto ",
						 pol->polpermissive ? "permissive" : "restrictive", cmd);
		d = heap_getattr(tup, Anum_pg_policy_polroles, desc, &isnull);
		if (!isnull)
		{
			Datum	   *elems;
			int			n;
			char	  **names;

			deconstruct_array(DatumGetArrayTypeP(d), OIDOID, sizeof(Oid), true, TYPALIGN_INT,
							  &elems, NULL, &n);
			names = palloc(sizeof(char *) * Max(n, 1));
			for (int i = 0; i < n; i++)
				names[i] = DatumGetObjectId(elems[i]) == InvalidOid ? "public" :
					role_text(DatumGetObjectId(elems[i]));
			append_sorted(&def, names, n, ", ");
		}
		append_policy_expr(&def, "using", tup, Anum_pg_policy_polqual, desc, rr->relid);
		append_policy_expr(&def, "with check", tup, Anum_pg_policy_polwithcheck, desc, rr->relid);
		append_comment(&def, object_comment(pol->oid, PolicyRelationId));
		emit(rr, "policy", part_identity(rr, NameStr(pol->polname)), def.data);
	}
	scan_end(&cs);
}

/* Whether an object is a member of an extension (a pg_depend row of type 'e'). */
static bool
extension_member(Oid classid, Oid objid)
{
	ScanKeyData keys[2];
	CatalogScan cs;
	HeapTuple	tup;
	bool		member = false;

	if (classid == RelationRelationId && objid > read_bounds()->extension_relation)
		return false;
	oid_key(&keys[0], Anum_pg_depend_classid, classid);
	oid_key(&keys[1], Anum_pg_depend_objid, objid);
	scan_begin(&cs, DependRelationId, DependDependerIndexId, 2, keys);
	while (!member && HeapTupleIsValid(tup = systable_getnext_ordered(cs.scan, ForwardScanDirection)))
		member = ((Form_pg_depend) GETSTRUCT(tup))->deptype == DEPENDENCY_EXTENSION;
	scan_end(&cs);
	return member;
}

/* Whether namespace nsp (named nspname) is managed, as the model statement's "ns" decides. */
static bool
namespace_managed(Oid nsp, const char *nspname, Datum schemas, bool schemas_null)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	bool		managed = false;

	if (schemas_null)
		return strcmp(nspname, "pg_catalog") != 0 &&
			strcmp(nspname, "information_schema") != 0 &&
			strcmp(nspname, "migrate") != 0 &&
			strncmp(nspname, "pg_toast", 8) != 0 &&
			strncmp(nspname, "pg_temp_", 8) != 0 &&
			!extension_member(NamespaceRelationId, nsp);
	deconstruct_array(DatumGetArrayTypeP(schemas), TEXTOID, -1, false, TYPALIGN_INT,
					  &elems, &nulls, &n);
	for (int i = 0; i < n && !managed; i++)
		managed = !nulls[i] && strcmp(TextDatumGetCString(elems[i]), nspname) == 0;
	return managed;
}

/* Starts judging relations for the given managed schemas (NULL: the default set). */
void
modelrel_filter_init(ModelRelFilter *f, Datum schemas, bool schemas_null)
{
	f->schemas = schemas;
	f->schemas_null = schemas_null;
	f->last_nsp = InvalidOid;
	f->last_managed = false;
}

/*
 * Whether relation relid is one the model covers: of a kind it models, in
 * a managed schema and not an extension's.  The verdict on its schema is
 * kept for the next relation: a call's relations are mostly in one schema.
 */
bool
modelrel_managed(ModelRelFilter *f, Oid relid)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	Form_pg_class cls;
	Oid			nsp;
	bool		modelled;

	if (!HeapTupleIsValid(tup))
		return false;
	cls = (Form_pg_class) GETSTRUCT(tup);
	nsp = cls->relnamespace;
	modelled = strchr("rpfvmS", cls->relkind) != NULL;
	ReleaseSysCache(tup);
	if (!modelled)
		return false;
	if (nsp != f->last_nsp)
	{
		char	   *nspname = get_namespace_name(nsp);

		f->last_nsp = nsp;
		f->last_managed = nspname != NULL &&
			namespace_managed(nsp, nspname, f->schemas, f->schemas_null);
	}
	return f->last_managed && !extension_member(RelationRelationId, relid);
}

/*
 * Appends to out, in the current memory context, the objects of relation
 * relid (managed: modelrel_managed() or the model statement said so): the
 * relation itself, its columns, constraints, indexes, triggers and
 * policies.  Nothing when it no longer exists.
 */
void
modelrel_append(SchemaModel *out, Oid relid)
{
	MemoryContext scratch = AllocSetContextCreate(CurrentMemoryContext, "migrate model relation",
												  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old;
	HeapTuple	classtup;
	Form_pg_class cls;
	RelRead		rr;

	rr.out = out;
	rr.out_cxt = CurrentMemoryContext;
	old = MemoryContextSwitchTo(scratch);
	classtup = SearchSysCacheCopy1(RELOID, ObjectIdGetDatum(relid));
	if (HeapTupleIsValid(classtup))
	{
		cls = (Form_pg_class) GETSTRUCT(classtup);
		rr.relid = relid;
		rr.relkind = cls->relkind;
		rr.nspname = get_namespace_name(cls->relnamespace);
		rr.comments = NIL;
		rr.cols = NULL;
		rr.ncols = 0;
	}
	if (HeapTupleIsValid(classtup) && rr.nspname != NULL)
	{
		rr.ident = psprintf("%s.%s", quote_identifier(rr.nspname), quote_identifier(NameStr(cls->relname)));
		rr.root = psprintf("r:%s", rr.ident);
		read_rel_comments(&rr);
		switch (cls->relkind)
		{
			case RELKIND_RELATION:
			case RELKIND_PARTITIONED_TABLE:
			case RELKIND_FOREIGN_TABLE:
				{
					TupleDesc	attdesc;
					int			ncols;
					RelColumn  *cols = read_columns(&rr, &ncols, &attdesc);

					emit_table(&rr, classtup, cols, ncols);
					emit_columns(&rr, cols, ncols, attdesc);
					rr.cols = cols;
					rr.ncols = ncols;
					break;
				}
			case RELKIND_VIEW:
			case RELKIND_MATVIEW:
				emit_view(&rr, classtup);
				break;
			case RELKIND_SEQUENCE:
				emit_sequence(&rr, classtup);
				break;
		}
		emit_constraints(&rr);
		/* pg_class says when there can be none (relhasindex, relhastriggers) */
		if (cls->relhasindex)
			emit_indexes(&rr);
		if (cls->relhastriggers)
			emit_triggers(&rr);
		emit_policies(&rr);
	}
	MemoryContextSwitchTo(old);
	MemoryContextDelete(scratch);
}
