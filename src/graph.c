/*
 * graph.c
 *		The revision DAG, loaded from migrate.revision once per call.
 *
 * Revisions are kept in an array sorted by id in byte order, so an index
 * comparison is the tie-break of SPEC section 3, an id or a prefix is found by
 * binary search, and no per-revision query is ever needed.  Closures and
 * descendants are O(V + E), topological order O(E + V log V) (its ties go
 * through a min-heap); all memory lives in the graph's own context, a child
 * of the caller's.
 */
#include "migrate.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/binaryheap.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

/* A branch label and the revision carrying it. */
typedef struct LabelEntry
{
	char	   *label;
	int			rev;
} LabelEntry;

/* Labels, sorted for binary search; kept beside the graph. */
typedef struct GraphLabels
{
	int			nlabels;
	LabelEntry *labels;
} GraphLabels;

static GraphLabels *graph_labels_of(Graph *g);

/* Orders branch label entries by label, for bsearch. */
static int
compare_label_entries(const void *a, const void *b)
{
	return strcmp(((const LabelEntry *) a)->label, ((const LabelEntry *) b)->label);
}

/* Index of the revision with exactly this id, or -1. */
int
graph_find_id(Graph *g, const char *id)
{
	int			lo = 0,
				hi = g->nrevs - 1;

	while (lo <= hi)
	{
		int			mid = lo + (hi - lo) / 2;
		int			cmp = strcmp(g->revs[mid].id, id);

		if (cmp == 0)
			return mid;
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

/* Index of the revision carrying this branch label, or -1. */
int
graph_find_label(Graph *g, const char *label)
{
	GraphLabels *gl = graph_labels_of(g);
	LabelEntry	key;
	LabelEntry *found;

	if (gl->nlabels == 0)
		return -1;
	key.label = (char *) label;
	found = bsearch(&key, gl->labels, gl->nlabels, sizeof(LabelEntry),
					compare_label_entries);
	return found ? found->rev : -1;
}

/* An id or a label; -1 if neither. */
int
graph_lookup(Graph *g, const char *name)
{
	int			rev = graph_find_id(g, name);

	return rev >= 0 ? rev : graph_find_label(g, name);
}

/*
 * Revisions whose id starts with prefix: returns how many, counting no further
 * than 2 ("two or more"), with the first in *first and the second in *second.
 */
int
graph_find_prefix(Graph *g, const char *prefix, int *first, int *second)
{
	size_t		len = strlen(prefix);
	int			lo = 0,
				hi = g->nrevs;
	int			count = 0;

	/* lower bound of prefix */
	while (lo < hi)
	{
		int			mid = lo + (hi - lo) / 2;

		if (strcmp(g->revs[mid].id, prefix) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (int i = lo; i < g->nrevs && count < 2; i++)
	{
		if (strncmp(g->revs[i].id, prefix, len) != 0)
			break;
		if (count == 0)
			*first = i;
		else
			*second = i;
		count++;
	}
	return count;
}

/* The graph's sorted branch labels. */
static GraphLabels *
graph_labels_of(Graph *g)
{
	return (GraphLabels *) g->labels;
}

/*
 * Resolves names loaded from the catalog to indexes, the parents or (with
 * depends) the depends_on of revision from; every revision must be loaded.
 */
static int *
resolve_edges(Graph *g, const char *from, char **names, int n, bool depends)
{
	int		   *result = palloc(sizeof(int) * Max(n, 1));

	for (int i = 0; i < n; i++)
	{
		result[i] = graph_find_id(g, names[i]);
		if (result[i] < 0)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 depends ?
					 errmsg("revision \"%s\" has unknown dependency \"%s\"", from, names[i]) :
					 errmsg("revision \"%s\" has unknown parent \"%s\"", from, names[i]),
					 errdetail("The catalog migrate.revision was changed outside migrate's functions."),
					 errhint("Run \"SELECT * FROM migrate.verify()\" to list the problems.")));
	}
	return result;
}

/* Fills r from a row of graph_load()'s query; its edges come back as names. */
static void
read_revision(Graph *g, Revision *r, HeapTuple tup, TupleDesc desc,
			  char ***parents, char ***depends)
{
	bool		isnull;

	r->id = TextDatumGetCString(SPI_getbinval(tup, desc, 1, &isnull));
	*parents = array_to_strings(DatumGetArrayTypeP(SPI_getbinval(tup, desc, 2, &isnull)),
								"parents", &r->nparents);
	*depends = array_to_strings(DatumGetArrayTypeP(SPI_getbinval(tup, desc, 3, &isnull)),
								"depends_on", &r->ndepends);
	r->labels = array_to_strings(DatumGetArrayTypeP(SPI_getbinval(tup, desc, 4, &isnull)),
								 "branch_labels", &r->nlabels);
	r->message = TextDatumGetCString(SPI_getbinval(tup, desc, 5, &isnull));
	r->irreversible = DatumGetBool(SPI_getbinval(tup, desc, 6, &isnull));
	r->checksum = TextDatumGetCString(SPI_getbinval(tup, desc, 7, &isnull));
	r->created_by = pstrdup(NameStr(*DatumGetName(SPI_getbinval(tup, desc, 8, &isnull))));
	r->applied = DatumGetBool(SPI_getbinval(tup, desc, 9, &isnull));
	r->transactional = DatumGetBool(SPI_getbinval(tup, desc, 10, &isnull));
	if (r->applied)
		g->napplied++;
}

/* Sorts every branch label of the graph beside it, for graph_find_label(). */
static void
index_labels(Graph *g, int total_labels)
{
	GraphLabels *gl = palloc0(sizeof(GraphLabels));

	gl->labels = palloc(sizeof(LabelEntry) * Max(total_labels, 1));
	for (int i = 0; i < g->nrevs; i++)
		for (int j = 0; j < g->revs[i].nlabels; j++)
		{
			gl->labels[gl->nlabels].label = g->revs[i].labels[j];
			gl->labels[gl->nlabels].rev = i;
			gl->nlabels++;
		}
	qsort(gl->labels, gl->nlabels, sizeof(LabelEntry), compare_label_entries);
	g->labels = gl;
}

/* Resolves every revision's edges to indexes, counting the reverse edges. */
static void
resolve_all_edges(Graph *g, char ***parent_names, char ***depend_names)
{
	for (int i = 0; i < g->nrevs; i++)
	{
		Revision   *r = &g->revs[i];

		CHECK_FOR_INTERRUPTS();
		r->parents = resolve_edges(g, r->id, parent_names[i], r->nparents, false);
		r->depends = resolve_edges(g, r->id, depend_names[i], r->ndepends, true);
		for (int j = 0; j < r->nparents; j++)
			g->revs[r->parents[j]].nchildren++;
		for (int j = 0; j < r->ndepends; j++)
			g->revs[r->depends[j]].ndependents++;
	}
}

/* Fills every revision's children and dependents, counted by resolve_all_edges(). */
static void
link_reverse_edges(Graph *g)
{
	for (int i = 0; i < g->nrevs; i++)
	{
		Revision   *r = &g->revs[i];

		r->children = palloc(sizeof(int) * Max(r->nchildren, 1));
		r->dependents = palloc(sizeof(int) * Max(r->ndependents, 1));
		r->nchildren = 0;
		r->ndependents = 0;
	}
	for (int i = 0; i < g->nrevs; i++)
	{
		Revision   *r = &g->revs[i];

		for (int j = 0; j < r->nparents; j++)
		{
			Revision   *p = &g->revs[r->parents[j]];

			p->children[p->nchildren++] = i;
		}
		for (int j = 0; j < r->ndepends; j++)
		{
			Revision   *p = &g->revs[r->depends[j]];

			p->dependents[p->ndependents++] = i;
		}
	}
}

/*
 * Loads the whole graph and the applied set with one query.  Must run inside
 * SPI; the graph lives in a child of the current memory context.
 */
Graph *
graph_load(bool read_only)
{
	MemoryContext cxt;
	MemoryContext old;
	Graph	   *g;
	SPITupleTable *tt;
	char	 ***parent_names;
	char	 ***depend_names;
	int			total_labels = 0;

	catalog_exec(catalog_has_transactional() ?
				 "SELECT r.id, r.parents, r.depends_on, r.branch_labels, r.message,"
				 " r.down_sql IS NULL, r.checksum, r.created_by, a.revision IS NOT NULL,"
				 " r.transactional"
				 " FROM migrate.revision r LEFT JOIN migrate.applied a ON a.revision = r.id"
				 " ORDER BY r.id COLLATE \"C\"" :
				 "SELECT r.id, r.parents, r.depends_on, r.branch_labels, r.message,"
				 " r.down_sql IS NULL, r.checksum, r.created_by, a.revision IS NOT NULL, true"
				 " FROM migrate.revision r LEFT JOIN migrate.applied a ON a.revision = r.id"
				 " ORDER BY r.id COLLATE \"C\"",
				 0, NULL, NULL, NULL, read_only, 0);
	tt = SPI_tuptable;

	cxt = AllocSetContextCreate(CurrentMemoryContext, "migrate graph",
								ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);

	g = palloc0(sizeof(Graph));
	g->cxt = cxt;
	g->nrevs = (int) SPI_processed;
	g->revs = palloc0(sizeof(Revision) * Max(g->nrevs, 1));
	parent_names = palloc(sizeof(char **) * Max(g->nrevs, 1));
	depend_names = palloc(sizeof(char **) * Max(g->nrevs, 1));
	for (int i = 0; i < g->nrevs; i++)
	{
		CHECK_FOR_INTERRUPTS();
		read_revision(g, &g->revs[i], tt->vals[i], tt->tupdesc,
					  &parent_names[i], &depend_names[i]);
		total_labels += g->revs[i].nlabels;
	}
	SPI_freetuptable(tt);

	index_labels(g, total_labels);
	resolve_all_edges(g, parent_names, depend_names);
	link_reverse_edges(g);

	MemoryContextSwitchTo(old);
	return g;
}

/* Frees a graph and everything loaded with it. */
void
graph_free(Graph *g)
{
	MemoryContextDelete(g->cxt);
}

/* A zeroed flag per revision, in the graph's memory. */
bool *
graph_new_marks(Graph *g)
{
	return MemoryContextAllocZero(g->cxt, sizeof(bool) * Max(g->nrevs, 1));
}

/* Marks and pushes the unmarked revisions one edge away from rev. */
static void
push_edges(Graph *g, int rev, bool *marks, int *stack, int *top,
		   bool towards_roots, bool with_depends)
{
	Revision   *r = &g->revs[rev];
	int			nedges[2];
	int		   *edges[2];

	nedges[0] = towards_roots ? r->nparents : r->nchildren;
	edges[0] = towards_roots ? r->parents : r->children;
	nedges[1] = !with_depends ? 0 : towards_roots ? r->ndepends : r->ndependents;
	edges[1] = towards_roots ? r->depends : r->dependents;

	for (int k = 0; k < 2; k++)
		for (int j = 0; j < nedges[k]; j++)
			if (!marks[edges[k][j]])
			{
				marks[edges[k][j]] = true;
				stack[(*top)++] = edges[k][j];
			}
}

/*
 * Marks the revs and everything reachable from them: towards the roots
 * (parents, and depends_on if asked) or towards the heads (children, and
 * dependents).  With strict, the search starts one edge away, so that a rev
 * is marked only when it is reachable from one of the revs.  One search for
 * all of them: O(V + E) however many there are.
 */
static void
mark_reachable(Graph *g, const int *revs, int n, bool *marks, bool strict,
			   bool towards_roots, bool with_depends)
{
	int		   *stack;
	int			top = 0;

	/* callers that mark revision by revision skip the stack when they can */
	if (n == 1 && !strict && marks[revs[0]])
		return;
	/* a revision is pushed only when it is marked: nrevs slots suffice */
	stack = MemoryContextAlloc(g->cxt, sizeof(int) * Max(g->nrevs, 1));
	for (int i = 0; i < n; i++)
	{
		CHECK_FOR_INTERRUPTS();
		if (strict)
			push_edges(g, revs[i], marks, stack, &top, towards_roots, with_depends);
		else if (!marks[revs[i]])
		{
			marks[revs[i]] = true;
			stack[top++] = revs[i];
		}
	}
	while (top > 0)
	{
		CHECK_FOR_INTERRUPTS();
		top--;
		push_edges(g, stack[top], marks, stack, &top, towards_roots, with_depends);
	}
	pfree(stack);
}

/* Marks rev and every ancestor (through parents, and depends_on if asked). */
void
graph_mark_ancestors(Graph *g, int rev, bool *marks, bool with_depends)
{
	mark_reachable(g, &rev, 1, marks, false, true, with_depends);
}

/* Marks rev and every descendant (through children, and dependents if asked). */
void
graph_mark_descendants(Graph *g, int rev, bool *marks, bool with_depends)
{
	mark_reachable(g, &rev, 1, marks, false, false, with_depends);
}

/* Marks every ancestor of the revs, not the revs themselves unless one is. */
void
graph_mark_strict_ancestors(Graph *g, const int *revs, int n, bool *marks,
							bool with_depends)
{
	mark_reachable(g, revs, n, marks, true, true, with_depends);
}

/* Marks every descendant of the revs, not the revs themselves unless one is. */
void
graph_mark_strict_descendants(Graph *g, const int *revs, int n, bool *marks,
							  bool with_depends)
{
	mark_reachable(g, revs, n, marks, true, false, with_depends);
}

/* binaryheap is a max-heap: the smallest index (id) must come out first. */
static int
compare_rev_index(Datum a, Datum b, void *arg pg_attribute_unused())
{
	int			ia = DatumGetInt32(a);
	int			ib = DatumGetInt32(b);

	return (ia < ib) ? 1 : (ia > ib) ? -1 : 0;
}

/*
 * The members in topological order: parents and dependencies first, ties
 * broken by id in byte order (Kahn's algorithm with a min-heap).  Returns
 * fewer than the members when they contain a cycle.
 */
static int *
kahn_order(Graph *g, const bool *members, int *count, int *nmembers_out)
{
	int		   *indegree = MemoryContextAllocZero(g->cxt, sizeof(int) * Max(g->nrevs, 1));
	int		   *order = MemoryContextAlloc(g->cxt, sizeof(int) * Max(g->nrevs, 1));
	int			nmembers = 0;
	int			n = 0;
	binaryheap *heap;

	for (int i = 0; i < g->nrevs; i++)
	{
		Revision   *r = &g->revs[i];

		CHECK_FOR_INTERRUPTS();
		if (!members[i])
			continue;
		nmembers++;
		for (int j = 0; j < r->nparents; j++)
			if (members[r->parents[j]])
				indegree[i]++;
		for (int j = 0; j < r->ndepends; j++)
			if (members[r->depends[j]])
				indegree[i]++;
	}

	heap = binaryheap_allocate(Max(nmembers, 1), compare_rev_index, NULL);
	for (int i = 0; i < g->nrevs; i++)
		if (members[i] && indegree[i] == 0)
			binaryheap_add_unordered(heap, Int32GetDatum(i));
	binaryheap_build(heap);

	while (!binaryheap_empty(heap))
	{
		int			v = DatumGetInt32(binaryheap_remove_first(heap));
		Revision   *r = &g->revs[v];

		CHECK_FOR_INTERRUPTS();
		order[n++] = v;
		for (int j = 0; j < r->nchildren; j++)
			if (members[r->children[j]] && --indegree[r->children[j]] == 0)
				binaryheap_add(heap, Int32GetDatum(r->children[j]));
		for (int j = 0; j < r->ndependents; j++)
			if (members[r->dependents[j]] && --indegree[r->dependents[j]] == 0)
				binaryheap_add(heap, Int32GetDatum(r->dependents[j]));
	}
	binaryheap_free(heap);
	pfree(indegree);
	*count = n;
	*nmembers_out = nmembers;
	return order;
}

/* The members in topological order; a cycle is an error. */
int *
graph_order(Graph *g, const bool *members, int *count)
{
	int			nmembers;
	int			n;
	int		   *order = kahn_order(g, members, &n, &nmembers);

	if (n != nmembers)
		ereport(ERROR,
				(errcode(ERRCODE_CHECK_VIOLATION),
				 errmsg("the revision graph contains a cycle"),
				 errdetail("The catalog migrate.revision was changed outside migrate's functions."),
				 errhint("Run \"SELECT * FROM migrate.verify()\" to list the problems.")));
	*count = n;
	return order;
}

/* Whether the whole graph contains a cycle (only a manual edit can make one). */
bool
graph_has_cycle(Graph *g)
{
	bool	   *all = graph_new_marks(g);
	int			n;
	int			nmembers;

	memset(all, true, sizeof(bool) * g->nrevs);
	(void) kahn_order(g, all, &n, &nmembers);
	return n != nmembers;
}

/* Whether no revision has rev as a parent. */
bool
graph_is_head(Graph *g, int rev)
{
	return g->revs[rev].nchildren == 0;
}

/* Whether rev is applied and none of its children is. */
bool
graph_is_current(Graph *g, int rev)
{
	Revision   *r = &g->revs[rev];

	if (!r->applied)
		return false;
	for (int j = 0; j < r->nchildren; j++)
		if (g->revs[r->children[j]].applied)
			return false;
	return true;
}

/* Graph heads in id order. */
int *
graph_heads(Graph *g, int *count)
{
	int		   *result = MemoryContextAlloc(g->cxt, sizeof(int) * Max(g->nrevs, 1));

	*count = 0;
	for (int i = 0; i < g->nrevs; i++)
		if (graph_is_head(g, i))
			result[(*count)++] = i;
	return result;
}

/* Current heads in id order. */
int *
graph_current_heads(Graph *g, int *count)
{
	int		   *result = MemoryContextAlloc(g->cxt, sizeof(int) * Max(g->nrevs, 1));

	*count = 0;
	for (int i = 0; i < g->nrevs; i++)
		if (graph_is_current(g, i))
			result[(*count)++] = i;
	return result;
}

/* Comma-separated quoted ids, for error details. */
char *
graph_id_list(Graph *g, const int *revs, int n, int limit)
{
	char	  **ids = palloc(sizeof(char *) * Max(Min(n, limit), 1));

	for (int i = 0; i < n && i < limit; i++)
		ids[i] = g->revs[revs[i]].id;
	return quoted_names(ids, Min(n, limit), n, limit);
}

/*
 * The root of the branch rev is on: rev, then each single parent that is
 * neither a fork nor a merge (SPEC section 2, Alembic's branch).
 */
int
graph_branch_root(Graph *g, int rev)
{
	int			cur = rev;

	while (g->revs[cur].nparents == 1)
	{
		Revision   *p = &g->revs[g->revs[cur].parents[0]];

		if (p->nchildren > 1 || p->nparents > 1)
			break;
		cur = g->revs[cur].parents[0];
	}
	return cur;
}

/*
 * The members of the branch of rev: its descendants through parents and the
 * chain from its branch root up to it.
 */
bool *
graph_branch_members(Graph *g, int rev)
{
	bool	   *marks = graph_new_marks(g);
	int			root = graph_branch_root(g, rev);
	int			cur = rev;

	graph_mark_descendants(g, rev, marks, false);
	while (cur != root)
	{
		cur = g->revs[cur].parents[0];
		marks[cur] = true;
	}
	return marks;
}

/*
 * Adds to marks the lineage of rev: it, its ancestors and its descendants
 * (through parents, and depends_on if asked), as Alembic's _shares_lineage
 * sees it.  Both walks start afresh: rev may already be marked (as another
 * revision's descendant) without its ancestors being.
 */
void
graph_mark_lineage(Graph *g, int rev, bool *marks, bool with_depends)
{
	bool	   *up = graph_new_marks(g);
	bool	   *down = graph_new_marks(g);

	graph_mark_ancestors(g, rev, up, with_depends);
	graph_mark_descendants(g, rev, down, with_depends);
	for (int i = 0; i < g->nrevs; i++)
		marks[i] = marks[i] || up[i] || down[i];
	pfree(up);
	pfree(down);
}

/*
 * Whether rev is applied and nothing applied needs it, through parents or
 * depends_on: what Alembic's version table would list.
 */
bool
graph_is_top_applied(Graph *g, int rev)
{
	Revision   *r = &g->revs[rev];

	if (!graph_is_current(g, rev))
		return false;
	for (int j = 0; j < r->ndependents; j++)
		if (g->revs[r->dependents[j]].applied)
			return false;
	return true;
}
