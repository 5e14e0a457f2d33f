/*
 * diff.c
 *		The schema diff: two schemas' objects matched by kind and identity,
 *		what changed, and the statements that turn one into the other in the
 *		order pg_depend asks for (README, "Autogenerate").
 *
 * Every object of the from side that goes away or is created again is
 * dropped, every object of the to side that is new or created again is
 * created, and the others are altered in place.  Each becomes an action of
 * one or more statements; the actions are ordered by the dependencies of
 * both sides (drops in the order the from side needs, creates and
 * alterations in the order the to side needs), ties broken by phase, kind
 * and identity so that the output is the same on every run.  The down
 * statements are the diff the other way round.
 */
#include "migrate.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/resowner.h"

/* What happens to an object. */
typedef enum DiffState
{
	DS_KEEP,
	DS_DROP,					/* from side only */
	DS_CREATE,					/* to side only */
	DS_RECREATE,				/* dropped and created again */
	DS_ALTER,					/* altered in place (or its comment, privileges) */
	DS_REPLACE					/* an enum: the new one created beside, the old one dropped last */
} DiffState;

/* Statements run as one step of the output, and what must come before them. */
typedef struct DiffAction
{
	int			phase;			/* 0 drop, 1 alter, 2 create */
	int			rank;			/* the kind's place within the phase */
	const char *kind;
	const char *okind;
	const char *identity;
	List	   *stmts;			/* DiffRow */
	List	   *succ;			/* actions that must come after this one */
	int			npred;
} DiffAction;

/* One direction of a diff: from side f into to side t. */
typedef struct DiffRun
{
	DiffSide   *f;
	DiffSide   *t;
	int		   *fmatch;			/* the object on the other side, or -1 */
	int		   *tmatch;
	DiffState  *fstate;
	DiffState  *tstate;
	bool	   *retyped;		/* a from column whose type changes */
	bool	   *redefault;		/* a from column whose default goes with what it uses */
	bool	   *fk_explicit;	/* a foreign key dropped before the table it points to */
	int		   *fafter;			/* actions that alter a from object after its dependents went */
	char	  **unidentity;		/* a column's DROP IDENTITY, run before anything is created */
	List	  **alter;			/* per from object: its alteration's statements */
	int		   *fdrop;			/* actions, or -1 */
	int		   *falter;
	int		   *tcreate;
	DiffAction *acts;
	int			nacts;
	int			cap;
	StringInfoData destructive; /* sentences, one per line */
	int			ndestructive;
} DiffRun;

static void add_order(DiffRun *run, int a, int b);

/* The place of a kind among the creates; drops go the other way round. */
static int
kind_rank(DiffObject *o)
{
	static const char *const order[] = {
		"enum", "domain", "composite type", "range type", "domain constraint", "sequence",
		"function", "procedure", "table", "column", "constraint", "index", "view",
		"materialized view", "trigger", "policy", "sequence owned by"
	};

	for (int i = 0; i < (int) lengthof(order); i++)
		if (strcmp(o->kind, order[i]) == 0)
			return i * 2 + (strncmp(o->core, "FOREIGN KEY", 11) == 0 ? 1 : 0);
	return (int) lengthof(order) * 2;
}

/* Matches the objects of both sides by kind and identity (both are sorted). */
static void
match_objects(DiffRun *run)
{
	int			i = 0,
				j = 0;

	for (int k = 0; k < run->f->n; k++)
		run->fmatch[k] = -1;
	for (int k = 0; k < run->t->n; k++)
		run->tmatch[k] = -1;
	while (i < run->f->n && j < run->t->n)
	{
		DiffObject *a = &run->f->objs[i];
		DiffObject *b = &run->t->objs[j];
		int			c = strcmp(a->kind, b->kind);

		if (c == 0)
			c = strcmp(a->identity, b->identity);
		if (c == 0)
		{
			run->fmatch[i] = j;
			run->tmatch[j] = i;
		}
		if (c <= 0)
			i++;
		if (c >= 0)
			j++;
	}
}

/* Records a destructive change, as a sentence. */
static void
note_destructive(DiffRun *run, const char *fmt, const char *kind, const char *identity,
				 const char *reason)
{
	if (run->ndestructive++ > 0)
		appendStringInfoChar(&run->destructive, '\n');
	appendStringInfo(&run->destructive, fmt, kind, identity, reason ? reason : "");
}

/*
 * A sequence's new options; a range narrowed (the minimum raised, the
 * maximum lowered) restarts it, as its value may be outside, and is
 * destructive.
 */
static List *
sequence_alter(DiffRun *run, DiffObject *f, DiffObject *t)
{
	int			nf,
				nt;
	char	  **ff = diffsql_fields(f->attrs, &nf);
	char	  **tf = diffsql_fields(t->attrs, &nt);
	char	   *stmt = pstrdup(tf[0]);

	if (nf < 3 || nt < 3 || strcmp(ff[0], tf[0]) == 0)
		return NIL;
	if (strtoll(tf[1], NULL, 10) > strtoll(ff[1], NULL, 10) ||
		strtoll(tf[2], NULL, 10) < strtoll(ff[2], NULL, 10))
	{
		stmt[strlen(stmt) - 1] = '\0';
		stmt = psprintf("%s RESTART;", stmt);
		note_destructive(run, "Narrows the range of %s %s, which restarts it%s.", f->okind,
						 f->identity, NULL);
	}
	return list_make1(stmt);
}

/* Whether type a is a domain of side f over type b: every value of a is one of b. */
static bool
domain_to_base(DiffSide *f, const char *a, const char *b)
{
	int			d = diffmodel_find(f, "domain", a);

	return d >= 0 && strcmp(f->objs[d].core, b) == 0;
}

/* Decides how a matched pair changes: in place, created again, or not. */
static void
compare_pair(DiffRun *run, int fi, int ti)
{
	DiffObject *f = &run->f->objs[fi];
	DiffObject *t = &run->t->objs[ti];
	DiffState	state = DS_KEEP;
	List	   *stmts = NIL;

	if (strcmp(f->core, t->core) != 0)
		state = DS_RECREATE;
	else if (strcmp(f->attrs, t->attrs) != 0)
	{
		state = DS_ALTER;
		if (strcmp(f->kind, "column") == 0)
		{
			bool		narrows;
			char	   *reason = NULL;
			int			nf,
						nt;
			char	  **ff = diffsql_fields(f->attrs, &nf);
			char	  **tf = diffsql_fields(t->attrs, &nt);

			stmts = diffsql_column_alter(f, t, false, false, &narrows, &reason);
			run->retyped[fi] = strcmp(ff[0], tf[0]) != 0 || strcmp(ff[5], tf[5]) != 0;
			if (narrows && !domain_to_base(run->f, ff[0], tf[0]))
				note_destructive(run, "Changes the type of %s %s %s.", f->okind, f->identity, reason);
			/* its sequence goes first: a new one may take its name */
			if (ff[3][0] != '\0' && tf[3][0] == '\0' && stmts != NIL)
			{
				run->unidentity[fi] = linitial(stmts);
				stmts = list_delete_first(stmts);
				/* a default in its place (a serial) numbers from its own start again */
				if (tf[1][0] != '\0')
					note_destructive(run, "Replaces the identity of %s %s and its sequence by a default%s.",
									 f->okind, f->identity, NULL);
			}
		}
		else if (strcmp(f->kind, "table") == 0)
			stmts = diffsql_table_alter(f, t);
		else if (strcmp(f->kind, "enum") == 0)
		{
			stmts = diffsql_enum_alter(f, t);
			if (stmts == NIL)
			{
				state = DS_REPLACE;
				note_destructive(run, "Replaces %s %s: a label is removed or moved%s.", f->okind,
								 f->identity, NULL);
			}
		}
		else if (strcmp(f->kind, "sequence") == 0)
			stmts = sequence_alter(run, f, t);
		else if (strcmp(f->kind, "composite type") == 0)
		{
			bool		recreate;
			int			dropped;

			stmts = diffsql_composite_alter(f, t, &recreate, &dropped);
			if (recreate)
				state = DS_RECREATE;
			else if (dropped > 0)
				note_destructive(run, "Drops attributes of %s %s%s.", f->okind, f->identity, NULL);
		}
		else
			stmts = diffsql_generic_alter(f, t);
	}
	if (state == DS_KEEP || state == DS_ALTER)
	{
		stmts = list_concat(stmts, diffsql_annotations(f, t));
		if (stmts != NIL)
			state = DS_ALTER;
	}
	run->fstate[fi] = state;
	run->tstate[ti] = state;
	run->alter[fi] = stmts;
}

/*
 * An enum that gains labels is replaced rather than altered when something
 * the diff creates or changes uses a new label: a label added in a
 * transaction cannot be used before it commits, and the up statements run
 * in one.
 */
static void
replace_enums_in_use(DiffRun *run)
{
	for (int i = 0; i < run->f->n; i++)
	{
		DiffObject *t;

		if (run->fstate[i] != DS_ALTER || strcmp(run->f->objs[i].kind, "enum") != 0 ||
			strcmp(run->f->objs[i].attrs, run->t->objs[run->fmatch[i]].attrs) == 0)
			continue;
		t = &run->t->objs[run->fmatch[i]];
		for (int k = 0; k < t->nrdeps; k++)
		{
			DiffObject *d = &run->t->objs[t->rdeps[k]];
			DiffState	st = run->tstate[t->rdeps[k]];

			if ((st == DS_CREATE || st == DS_RECREATE || st == DS_ALTER) &&
				diffsql_uses_new_label(&run->f->objs[i], t, d))
			{
				run->fstate[i] = DS_REPLACE;
				run->tstate[run->fmatch[i]] = DS_REPLACE;
				run->alter[i] = NIL;
				break;
			}
		}
	}
}

/* Whether a change of a column's type needs the dependent of this kind created again. */
static bool
blocks_retype(DiffObject *o)
{
	static const char *const kinds[] = {
		"view", "materialized view", "policy", "trigger", "function", "procedure", "column"
	};

	for (int i = 0; i < (int) lengthof(kinds); i++)
		if (strcmp(o->kind, kinds[i]) == 0)
			return true;
	return false;
}

/* Whether an object can hold a column's default but not be its type. */
static bool
default_source(DiffObject *o)
{
	return strcmp(o->kind, "function") == 0 || strcmp(o->kind, "sequence") == 0;
}

/*
 * Whether column r, which depends on x that goes or is replaced, keeps its
 * data: it is altered off x (its type changes anyway), converted to the
 * enum that replaces x, or loses its default while x is dropped and gets
 * it back after.  A generated column is created again.
 */
static bool
spare_column(DiffRun *run, int x, int r, int *queue, int *tail)
{
	DiffObject *c = &run->f->objs[r];
	DiffObject *t;
	bool		narrows;
	char	   *reason;

	if (strcmp(c->kind, "column") != 0 || c->core[0] != '\0')
		return false;
	if (run->fstate[x] == DS_DROP && run->retyped[r])
		return true;
	t = &run->t->objs[run->fmatch[r]];
	if (run->fstate[x] == DS_REPLACE)
	{
		run->alter[r] = list_concat(diffsql_column_alter(c, t, true, false, &narrows, &reason),
									diffsql_annotations(c, t));
		run->fstate[r] = DS_ALTER;
		run->tstate[run->fmatch[r]] = DS_ALTER;
		run->retyped[r] = true;
		queue[(*tail)++] = r;
		return true;
	}
	if (!default_source(&run->f->objs[x]))
		return false;
	if (!run->redefault[r])
	{
		List	   *stmts = diffsql_column_alter(c, t, false, true, &narrows, &reason);

		run->redefault[r] = true;
		if (run->unidentity[r] != NULL)
			stmts = list_delete_first(stmts);
		run->alter[r] = list_concat(stmts, diffsql_annotations(c, t));
	}
	return true;
}

/*
 * Dependents of what is dropped or created again are created again too,
 * transitively (a view over a view over a table created again); so are the
 * views, policies, triggers and functions over a column whose type changes.
 */
static void
propagate(DiffRun *run)
{
	int		   *queue = palloc(sizeof(int) * (2 * run->f->n + 1));
	int			head = 0,
				tail = 0;

	for (int i = 0; i < run->f->n; i++)
		if (run->fstate[i] == DS_DROP || run->fstate[i] == DS_RECREATE ||
			run->fstate[i] == DS_REPLACE || run->retyped[i])
			queue[tail++] = i;
	while (head < tail)
	{
		int			x = queue[head++];
		DiffObject *o = &run->f->objs[x];
		bool		retype_only = run->fstate[x] != DS_DROP && run->fstate[x] != DS_RECREATE &&
			run->fstate[x] != DS_REPLACE;

		for (int k = 0; k < o->nrdeps; k++)
		{
			int			r = o->rdeps[k];

			if (run->fmatch[r] < 0 || run->fstate[r] == DS_RECREATE)
				continue;
			if (retype_only && !blocks_retype(&run->f->objs[r]))
				continue;
			if (!retype_only && spare_column(run, x, r, queue, &tail))
				continue;
			run->fstate[r] = DS_RECREATE;
			run->tstate[run->fmatch[r]] = DS_RECREATE;
			run->alter[r] = NIL;
			run->retyped[r] = false;
			queue[tail++] = r;
		}
	}
}

/*
 * Whether an object's drop (create) is its parent's: a column of a table
 * dropped.  explicit: the objects dropped on their own all the same.
 */
static bool
implicit_in(DiffSide *side, DiffState *state, int i, bool creating, const bool *explicit)
{
	int			p = side->objs[i].parent_index;

	if (p < 0 || (state[p] != (creating ? DS_CREATE : DS_DROP) && state[p] != DS_RECREATE))
		return false;
	if (explicit && explicit[i])
		return false;
	/* the columns of a created table are in its CREATE TABLE; everything else is dropped with it */
	return !creating || strcmp(side->objs[i].kind, "column") == 0;
}

/* The action that drops a from object, or -1. */
static int
drop_action(DiffRun *run, int i)
{
	while (i >= 0 && run->fdrop[i] < 0 && implicit_in(run->f, run->fstate, i, false, run->fk_explicit))
		i = run->f->objs[i].parent_index;
	return i >= 0 ? run->fdrop[i] : -1;
}

/* The action that creates a to object, or -1. */
static int
create_action(DiffRun *run, int i)
{
	while (i >= 0 && run->tcreate[i] < 0 && implicit_in(run->t, run->tstate, i, true, NULL))
		i = run->t->objs[i].parent_index;
	return i >= 0 ? run->tcreate[i] : -1;
}

/* The action that alters a to object in place, or -1. */
static int
alter_action_of_to(DiffRun *run, int i)
{
	return run->tmatch[i] >= 0 ? run->falter[run->tmatch[i]] : -1;
}

/* Lists the destructive changes of the from side: what is dropped that holds data. */
static void
find_destructive(DiffRun *run)
{
	static const char *const holding[] = {"table", "column", "materialized view", "sequence"};

	for (int i = 0; i < run->f->n; i++)
	{
		DiffObject *o = &run->f->objs[i];
		bool		holds = false;

		if (run->fstate[i] != DS_DROP && run->fstate[i] != DS_RECREATE)
			continue;
		if (implicit_in(run->f, run->fstate, i, false, run->fk_explicit))
			continue;
		for (int k = 0; k < (int) lengthof(holding); k++)
			holds |= strcmp(o->kind, holding[k]) == 0;
		/* a generated column's values come back with it */
		if (!holds || (run->fstate[i] == DS_RECREATE && o->core[0] != '\0' &&
					   strcmp(o->kind, "column") == 0))
			continue;
		note_destructive(run, run->fstate[i] == DS_DROP ? "Drops %s %s%s." :
						 "Drops and creates again %s %s%s.", o->okind, o->identity, NULL);
	}
}

/* A column's quoted name, from its attrs. */
static const char *
column_name(DiffObject *c)
{
	int			n;
	char	  **fields = diffsql_fields(c->attrs, &n);

	return n > 4 ? fields[4] : "";
}

/* Statements as output rows about an object. */
static List *
rows_of(List *stmts, DiffObject *o)
{
	List	   *rows = NIL;
	ListCell   *lc;

	foreach(lc, stmts)
	{
		DiffRow    *row = palloc(sizeof(DiffRow));

		row->kind = o->okind;
		row->identity = o->identity;
		row->statement = lfirst(lc);
		rows = lappend(rows, row);
	}
	return rows;
}

/*
 * Foreign keys of dropped tables that point to another table going too
 * are dropped first: two tables may point to each other.
 */
static void
find_explicit_fks(DiffRun *run)
{
	for (int i = 0; i < run->f->n; i++)
	{
		DiffObject *o = &run->f->objs[i];

		if (strcmp(o->kind, "constraint") != 0 || strncmp(o->core, "FOREIGN KEY", 11) != 0)
			continue;
		for (int k = 0; k < o->ndeps; k++)
		{
			int			p = run->f->objs[o->deps[k]].parent_index;

			if (p >= 0 && p != o->parent_index &&
				(run->fstate[p] == DS_DROP || run->fstate[p] == DS_RECREATE))
				run->fk_explicit[i] = true;
		}
	}
}

/* A new action. */
static int
new_action(DiffRun *run, int phase, DiffObject *o, List *stmts)
{
	DiffAction *a;

	if (run->nacts == run->cap)
	{
		run->cap = Max(64, run->cap * 2);
		run->acts = run->acts ? repalloc(run->acts, sizeof(DiffAction) * run->cap) :
			palloc(sizeof(DiffAction) * run->cap);
	}
	a = &run->acts[run->nacts];
	memset(a, 0, sizeof(DiffAction));
	a->phase = phase;
	a->rank = phase == 0 ? -kind_rank(o) : kind_rank(o);
	a->kind = o->kind;
	a->okind = o->okind;
	a->identity = o->identity;
	a->stmts = rows_of(stmts, o);
	return run->nacts++;
}

/*
 * The comment and privileges of a to object that is created, and, when it
 * is created again and its owner is not the calling role, its owner
 * (whoever may drop it may give it back).
 */
static List *
created_annotations(DiffRun *run, int ti)
{
	DiffObject *t = &run->t->objs[ti];
	List	   *stmts = NIL;

	if (run->tstate[ti] != DS_CREATE && t->owner != NULL && t->comment_target != NULL &&
		strcmp(t->owner, GetUserNameFromId(GetUserId(), false)) != 0)
		stmts = list_make1(psprintf("ALTER %s OWNER TO %s;", t->comment_target,
									quote_identifier(t->owner)));
	return list_concat(stmts, diffsql_annotations(NULL, t));
}

/*
 * The two actions of an object changed around others: an enum replaced
 * (the new one created beside the old one, renamed away, which is dropped
 * after the columns are converted), a column whose default goes while what
 * it uses is dropped (and comes back after it is created).
 */
static void
make_split_actions(DiffRun *run, int i)
{
	DiffObject *f = &run->f->objs[i];
	int			ti = run->fmatch[i];
	DiffObject *t = &run->t->objs[ti];

	if (run->fstate[i] == DS_REPLACE)
	{
		List	   *extra = diffsql_split(t->extra);

		run->fdrop[i] = new_action(run, 0, f, list_make1(llast(diffsql_split(f->extra))));
		run->tcreate[ti] = new_action(run, 2, t, list_concat(list_make1(linitial(extra)),
															 diffsql_split(t->create)));
		run->acts[run->tcreate[ti]].stmts =
			list_concat(run->acts[run->tcreate[ti]].stmts, rows_of(created_annotations(run, ti), t));
		return;
	}
	run->fdrop[i] = new_action(run, 0, f, list_make1(psprintf("ALTER TABLE %s ALTER COLUMN %s DROP DEFAULT;",
															  f->parent, strrchr(f->attrs, DIFF_FIELD_SEP) ?
															  column_name(f) : "")));
	if (run->alter[i] != NIL)
		run->tcreate[ti] = new_action(run, 2, t, run->alter[i]);
}

/* The drops, alterations and creates, with their statements. */
static void
make_actions(DiffRun *run)
{
	for (int i = 0; i < run->t->n; i++)
		run->tcreate[i] = -1;
	for (int i = 0; i < run->f->n; i++)
	{
		run->fdrop[i] = -1;
		run->falter[i] = -1;
		if ((run->fstate[i] == DS_DROP || run->fstate[i] == DS_RECREATE) &&
			!implicit_in(run->f, run->fstate, i, false, run->fk_explicit))
			run->fdrop[i] = new_action(run, 0, &run->f->objs[i],
									   list_make1(run->f->objs[i].drop));
		else if (run->fstate[i] == DS_REPLACE || run->redefault[i])
			make_split_actions(run, i);
		else if (run->fstate[i] == DS_ALTER && run->alter[i] != NIL)
			run->falter[i] = new_action(run, 1, &run->t->objs[run->fmatch[i]], run->alter[i]);
		run->fafter[i] = run->redefault[i] && run->fstate[i] != DS_RECREATE ?
			run->tcreate[run->fmatch[i]] : run->falter[i];
		if (run->unidentity[i] != NULL && run->fstate[i] != DS_RECREATE)
			add_order(run, new_action(run, 0, &run->t->objs[run->fmatch[i]],
									  list_make1(run->unidentity[i])), run->fafter[i]);
	}
	for (int i = 0; i < run->t->n; i++)
	{
		if (run->tcreate[i] >= 0)
			continue;
		if ((run->tstate[i] == DS_CREATE || run->tstate[i] == DS_RECREATE) &&
			!implicit_in(run->t, run->tstate, i, true, NULL))
			run->tcreate[i] = new_action(run, 2, &run->t->objs[i],
										 diffsql_split(run->t->objs[i].create));
	}
	/* comments and privileges of what is created, after it (a column's after its table) */
	for (int i = 0; i < run->t->n; i++)
	{
		int			a;

		if (run->tstate[i] != DS_CREATE && run->tstate[i] != DS_RECREATE)
			continue;
		a = create_action(run, i);
		if (a >= 0)
			run->acts[a].stmts = list_concat(run->acts[a].stmts,
											 rows_of(created_annotations(run, i), &run->t->objs[i]));
	}
}

/* Adds "a before b". */
static void
add_order(DiffRun *run, int a, int b)
{
	if (a < 0 || b < 0 || a == b)
		return;
	run->acts[a].succ = lappend_int(run->acts[a].succ, b);
	run->acts[b].npred++;
}

/* The order between the actions, from the dependencies of both sides. */
static void
make_edges(DiffRun *run)
{
	for (int i = 0; i < run->f->n; i++)
	{
		DiffObject *o = &run->f->objs[i];
		int			di = drop_action(run, i);

		for (int k = 0; k < o->ndeps; k++)
		{
			int			j = o->deps[k];
			int			dj = drop_action(run, j);

			/* a dependent goes first, and is altered away from what goes */
			add_order(run, di, dj);
			add_order(run, run->falter[i], dj);
			add_order(run, di, run->fafter[j]);
		}
		if (run->fmatch[i] >= 0 && run->fstate[i] == DS_RECREATE)
			add_order(run, di, create_action(run, run->fmatch[i]));
		/* an enum is renamed away only after what names it in a drop went */
		if (run->fstate[i] == DS_REPLACE)
		{
			add_order(run, create_action(run, run->fmatch[i]), di);
			for (int k = 0; k < o->nrdeps; k++)
				add_order(run, drop_action(run, o->rdeps[k]), create_action(run, run->fmatch[i]));
		}
	}
	for (int i = 0; i < run->t->n; i++)
	{
		DiffObject *o = &run->t->objs[i];
		int			ci = create_action(run, i);
		int			ai = alter_action_of_to(run, i);

		for (int k = 0; k < o->ndeps; k++)
		{
			int			j = o->deps[k];
			int			cj = create_action(run, j);
			int			aj = alter_action_of_to(run, j);

			/* what it depends on exists first, as the to side has it */
			add_order(run, cj, ci);
			add_order(run, cj, ai);
			add_order(run, aj, ci);
			add_order(run, aj, ai);
		}
	}
}

/* Whether action a runs before action b when both are ready. */
static bool
action_before(DiffRun *run, int a, int b)
{
	DiffAction *x = &run->acts[a];
	DiffAction *y = &run->acts[b];
	int			c;

	if (x->phase != y->phase)
		return x->phase < y->phase;
	if (x->rank != y->rank)
		return x->rank < y->rank;
	c = strcmp(x->identity, y->identity);
	return c != 0 ? c < 0 : a < b;
}

/* Pushes an action onto the heap of ready ones. */
static void
heap_push(DiffRun *run, int *heap, int *n, int a)
{
	int			i = (*n)++;

	heap[i] = a;
	while (i > 0 && action_before(run, heap[i], heap[(i - 1) / 2]))
	{
		int			p = (i - 1) / 2;
		int			tmp = heap[p];

		heap[p] = heap[i];
		heap[i] = tmp;
		i = p;
	}
}

/* Pops the first ready action. */
static int
heap_pop(DiffRun *run, int *heap, int *n)
{
	int			top = heap[0];
	int			i = 0;

	heap[0] = heap[--(*n)];
	for (;;)
	{
		int			l = 2 * i + 1,
					r = l + 1,
					m = i;

		if (l < *n && action_before(run, heap[l], heap[m]))
			m = l;
		if (r < *n && action_before(run, heap[r], heap[m]))
			m = r;
		if (m == i)
			break;
		heap[m] ^= heap[i];
		heap[i] ^= heap[m];
		heap[m] ^= heap[i];
		i = m;
	}
	return top;
}

/*
 * The actions in order: each after the ones it needs, ties by phase, kind
 * and identity.  A cycle (which pg_depend does not make between the objects
 * the diff creates) is broken at the first action left, in that order.
 */
static int *
order_actions(DiffRun *run)
{
	int		   *heap = palloc(sizeof(int) * Max(run->nacts, 1));
	int		   *out = palloc(sizeof(int) * Max(run->nacts, 1));
	bool	   *done = palloc0(sizeof(bool) * Max(run->nacts, 1));
	int			nheap = 0,
				nout = 0;

	for (int i = 0; i < run->nacts; i++)
		if (run->acts[i].npred == 0)
			heap_push(run, heap, &nheap, i);
	while (nout < run->nacts)
	{
		int			a;
		ListCell   *lc;

		if (nheap == 0)
		{
			int			first = -1;

			for (int i = 0; i < run->nacts; i++)
				if (!done[i] && (first < 0 || action_before(run, i, first)))
					first = i;
			run->acts[first].npred = 0;
			heap_push(run, heap, &nheap, first);
		}
		a = heap_pop(run, heap, &nheap);
		if (done[a])
			continue;
		done[a] = true;
		out[nout++] = a;
		foreach(lc, run->acts[a].succ)
		{
			int			b = lfirst_int(lc);

			if (!done[b] && --run->acts[b].npred == 0)
				heap_push(run, heap, &nheap, b);
		}
	}
	return out;
}

/* Appends an output row. */
static List *
add_row(List *rows, const char *kind, const char *identity, const char *stmt)
{
	DiffRow    *row = palloc(sizeof(DiffRow));

	row->kind = kind;
	row->identity = identity;
	row->statement = pstrdup(stmt);
	return lappend(rows, row);
}

/* The rows of the ordered actions; functions after "SET check_function_bodies = off". */
static List *
emit_rows(DiffRun *run, int *order, List *rows)
{
	bool		bodies_off = false;

	for (int i = 0; i < run->nacts; i++)
	{
		DiffAction *a = &run->acts[order[i]];

		if (!bodies_off && a->phase > 0 &&
			(strcmp(a->kind, "function") == 0 || strcmp(a->kind, "procedure") == 0))
		{
			rows = add_row(rows, a->okind, a->identity, "SET check_function_bodies = off;");
			bodies_off = true;
		}
		rows = list_concat(rows, a->stmts);
	}
	return rows;
}

/*
 * The statements turning side f into side t, appended to rows.  check:
 * refuse destructive changes.
 */
static List *
diff_direction(DiffSide *f, DiffSide *t, bool check, List *rows)
{
	DiffRun		run;
	int			nf = Max(f->n, 1),
				nt = Max(t->n, 1);

	memset(&run, 0, sizeof(run));
	run.f = f;
	run.t = t;
	run.fmatch = palloc(sizeof(int) * nf);
	run.tmatch = palloc(sizeof(int) * nt);
	run.fstate = palloc0(sizeof(DiffState) * nf);
	run.tstate = palloc0(sizeof(DiffState) * nt);
	run.retyped = palloc0(sizeof(bool) * nf);
	run.redefault = palloc0(sizeof(bool) * nf);
	run.fk_explicit = palloc0(sizeof(bool) * nf);
	run.fafter = palloc(sizeof(int) * nf);
	run.unidentity = palloc0(sizeof(char *) * nf);
	run.alter = palloc0(sizeof(List *) * nf);
	run.fdrop = palloc(sizeof(int) * nf);
	run.falter = palloc(sizeof(int) * nf);
	run.tcreate = palloc(sizeof(int) * nt);
	initStringInfo(&run.destructive);

	match_objects(&run);
	for (int i = 0; i < f->n; i++)
		if (run.fmatch[i] < 0)
			run.fstate[i] = DS_DROP;
		else
			compare_pair(&run, i, run.fmatch[i]);
	for (int i = 0; i < t->n; i++)
		if (run.tmatch[i] < 0)
			run.tstate[i] = DS_CREATE;
	replace_enums_in_use(&run);
	propagate(&run);
	find_explicit_fks(&run);
	find_destructive(&run);
	if (check && run.ndestructive > 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg_plural("the diff drops or narrows %d object",
							   "the diff drops or narrows %d objects",
							   run.ndestructive, run.ndestructive),
				 errdetail("%s", run.destructive.data),
				 errhint("Pass allow_destructive => true, or name renames.")));
	make_actions(&run);
	make_edges(&run);
	return emit_rows(&run, order_actions(&run), rows);
}

/* A rename given to the diff, in from -> to terms. */
typedef struct DiffRename
{
	char	   *table;			/* the relation (of a column: its table) */
	char	   *column;			/* or NULL */
	char	   *new_table;
	char	   *new_column;
	const char *okind;			/* the relation's kind, as schema_model() names it */
	const char *alter;			/* ALTER TABLE, ALTER VIEW, ... */
} DiffRename;

/* Refuses a malformed renames element. */
static void
bad_rename(const char *elem, const char *why)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("renames element \"%s\" is malformed", elem),
			 errdetail("%s", why),
			 errhint("Write 'table_old:table_new' for a relation and 'table.column_old:table.column_new' for a column.")));
}

/* The first column of the first row of a catalog query of text arguments, or NULL. */
static char *
lookup_first(const char *sql, int nargs, const char *const *args)
{
	Oid			argtypes[3] = {TEXTOID, TEXTOID, TEXTOID};
	Datum		values[3];

	Assert(nargs <= 3);
	for (int i = 0; i < nargs; i++)
		values[i] = CStringGetTextDatum(args[i]);
	SPI_execute_with_args(sql, nargs, argtypes, values, NULL, true, 1);
	if (SPI_processed == 0)
		return NULL;
	return SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
}

/* Looks up the kind of relation "name" of a schema; refuses one that does not exist. */
static void
rename_relation_kind(const char *schema, DiffRename *r)
{
	const char *args[2] = {schema, r->table};
	char	   *relkind = lookup_first("SELECT c.relkind::text FROM pg_catalog.pg_class c"
									   " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
									   " WHERE n.nspname = $1 AND c.relname = $2"
									   " AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'i', 'I')",
									   2, args);

	if (relkind == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation \"%s.%s\" named in renames does not exist", schema, r->table),
				 errhint("Name renames in from_schema's terms: 'old:new'.")));
	switch (relkind[0])
	{
		case 'v':
			r->okind = "view";
			r->alter = "ALTER VIEW";
			break;
		case 'm':
			r->okind = "materialized view";
			r->alter = "ALTER MATERIALIZED VIEW";
			break;
		case 'S':
			r->okind = "sequence";
			r->alter = "ALTER SEQUENCE";
			break;
		case 'i':
		case 'I':
			r->okind = "index";
			r->alter = "ALTER INDEX";
			break;
		default:
			r->okind = "table";
			r->alter = "ALTER TABLE";
	}
}

/*
 * The column renames, each naming its table as the from side has it (a
 * table renamed too may be named by its new name) and checked to exist.
 */
static List *
columns_renamed(List *columns, List *relations, const char *schema)
{
	ListCell   *lc;

	foreach(lc, columns)
	{
		DiffRename *r = lfirst(lc);
		ListCell   *rc;
		const char *args[3];
		foreach(rc, relations)
			if (strcmp(((DiffRename *) lfirst(rc))->new_table, r->table) == 0)
			r->table = ((DiffRename *) lfirst(rc))->table;
		rename_relation_kind(schema, r);
		args[0] = schema;
		args[1] = r->table;
		args[2] = r->column;
		if (lookup_first("SELECT 1 FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid"
						 " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
						 " WHERE n.nspname = $1 AND c.relname = $2 AND a.attname = $3"
						 " AND a.attnum > 0 AND NOT a.attisdropped", 3, args) == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("column \"%s\" of relation \"%s.%s\" named in renames does not exist",
							r->column, schema, r->table),
					 errhint("Name renames in from_schema's terms: 'table.old:table.new'.")));
	}
	return columns;
}

/* The renames argument, checked; relations first, then columns, each in the given order. */
static List *
parse_renames(ArrayType *arr, const char *schema)
{
	int			n;
	char	  **elems = array_to_strings(arr, "renames", &n);
	List	   *relations = NIL;
	List	   *columns = NIL;

	for (int i = 0; i < n; i++)
	{
		DiffRename *r = palloc0(sizeof(DiffRename));
		char	   *colon = strchr(elems[i], ':');
		char	   *dot_old,
				   *dot_new;

		if (colon == NULL || colon == elems[i] || colon[1] == '\0' || strchr(colon + 1, ':'))
			bad_rename(elems[i], "An element is two names separated by one colon.");
		r->table = pnstrdup(elems[i], colon - elems[i]);
		r->new_table = pstrdup(colon + 1);
		dot_old = strchr(r->table, '.');
		dot_new = strchr(r->new_table, '.');
		if ((dot_old == NULL) != (dot_new == NULL))
			bad_rename(elems[i], "Both sides name a relation, or both a column.");
		if (dot_old)
		{
			*dot_old = '\0';
			*dot_new = '\0';
			r->column = dot_old + 1;
			r->new_column = dot_new + 1;
			if (!r->column[0] || !r->new_column[0] || !r->table[0] || !r->new_table[0])
				bad_rename(elems[i], "A column is written table.column.");
		}
		/* a name kept is no rename */
		if (strcmp(r->table, r->new_table) == 0 &&
			(r->column == NULL || strcmp(r->column, r->new_column) == 0))
			continue;
		if (r->column)
			columns = lappend(columns, r);
		else
		{
			rename_relation_kind(schema, r);
			relations = lappend(relations, r);
		}
	}
	return list_concat(relations, columns_renamed(columns, relations, schema));
}

/* A rename's old (or, down, new) name, and the name it gets. */
static void
rename_names(DiffRename *r, bool down, const char **src, const char **dst)
{
	const char *old_name = r->column ? r->column : r->table;
	const char *new_name = r->column ? r->new_column : r->new_table;

	*src = down ? new_name : old_name;
	*dst = down ? old_name : new_name;
}

/* The row of one rename statement, from name src to dst. */
static DiffRow *
rename_row(DiffRename *r, const char *q, const char *src, const char *dst)
{
	DiffRow    *row = palloc(sizeof(DiffRow));

	if (r->column)
	{
		/* the table has its new name by then, or, going down, still has it */
		const char *ident = psprintf("%s.%s", q, quote_identifier(r->new_table));

		row->statement = psprintf("ALTER TABLE %s RENAME COLUMN %s TO %s;", ident,
								  quote_identifier(src), quote_identifier(dst));
		row->kind = "column";
		row->identity = psprintf("%s.%s", ident, quote_identifier(src));
	}
	else
	{
		row->identity = psprintf("%s.%s", q, quote_identifier(src));
		row->statement = psprintf("%s %s RENAME TO %s;", r->alter, row->identity,
								  quote_identifier(dst));
		row->kind = r->okind;
	}
	return row;
}

/*
 * The statements of a group of renames (the relations, or the columns);
 * when one takes a name another gives up (a swap), every one goes through
 * a temporary name first.
 */
static List *
rename_group(List *group, const char *q, bool down, List *rows)
{
	bool		swap = false;
	ListCell   *a;
	ListCell   *b;
	const char *src;
	const char *dst;

	foreach(a, group)
		foreach(b, group)
	{
		DiffRename *x = lfirst(a);
		DiffRename *y = lfirst(b);
		const char *ysrc;

		const char *ydst;

		rename_names(x, down, &src, &dst);
		rename_names(y, down, &ysrc, &ydst);
		if (x != y && strcmp(dst, ysrc) == 0 &&
			(x->column == NULL || strcmp(x->new_table, y->new_table) == 0))
			swap = true;
	}
	foreach(a, group)
	{
		rename_names(lfirst(a), down, &src, &dst);
		rows = lappend(rows, rename_row(lfirst(a), q, src,
										swap ? psprintf("%s__migrate_swap", src) : dst));
	}
	if (swap)
		foreach(a, group)
		{
			rename_names(lfirst(a), down, &src, &dst);
			rows = lappend(rows, rename_row(lfirst(a), q, psprintf("%s__migrate_swap", src), dst));
		}
	return rows;
}

/*
 * The statements of the renames: relations, then columns; down: undoing
 * them, columns first, in the reverse order.
 */
static List *
rename_rows(List *renames, const char *schema, bool down, List *rows)
{
	const char *q = quote_identifier(schema);
	List	   *relations = NIL;
	List	   *columns = NIL;
	ListCell   *lc;

	foreach(lc, renames)
	{
		DiffRename *r = lfirst(lc);

		if (r->column)
			columns = down ? lcons(r, columns) : lappend(columns, r);
		else
			relations = down ? lcons(r, relations) : lappend(relations, r);
	}
	if (down)
		return rename_group(relations, q, true, rename_group(columns, q, true, rows));
	return rename_group(columns, q, false, rename_group(relations, q, false, rows));
}

/*
 * Reads the from schema as it is after the renames: they run in a
 * subtransaction that is rolled back, so that the catalog deparses every
 * definition as the renamed objects will have it.
 */
static DiffSide *
read_renamed(const char *schema, List *renames)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	List	   *rows;
	DiffSide   *side;
	ListCell   *lc;

	if (renames == NIL)
		return diffmodel_read(schema, NULL);
	rows = rename_rows(renames, schema, false, NIL);
	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		foreach(lc, rows)
		{
			int			ret = SPI_execute(((DiffRow *) lfirst(lc))->statement, false, 0);

			if (ret != SPI_OK_UTILITY)
				elog(ERROR, "SPI_execute failed for a rename: %s", SPI_result_code_string(ret));
		}
		side = diffmodel_read(schema, NULL);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(cxt);
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
		PG_RE_THROW();
	}
	PG_END_TRY();
	RollbackAndReleaseCurrentSubTransaction();
	MemoryContextSwitchTo(cxt);
	CurrentResourceOwner = owner;
	return side;
}

/* Refuses a schema that does not exist. */
static void
check_schema(const char *schema)
{
	if (lookup_first("SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1", 1, &schema) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_SCHEMA_NAME),
				 errmsg("schema \"%s\" does not exist", schema)));
}

/*
 * The up rows (DiffRow) turning from_schema into to_schema, and in *down
 * those turning it back.  The caller is connected to SPI; the rows are
 * allocated in the current memory context.
 */
List *
diff_compute(const char *from_schema, const char *to_schema, ArrayType *renames_arr,
			 bool allow_destructive, List **down)
{
	List	   *renames;
	DiffSide   *f;
	DiffSide   *t;
	List	   *up;

	check_schema(from_schema);
	check_schema(to_schema);
	renames = parse_renames(renames_arr, from_schema);
	f = read_renamed(from_schema, renames);
	t = diffmodel_read(to_schema, strcmp(from_schema, to_schema) == 0 ? NULL : from_schema);
	up = diff_direction(f, t, !allow_destructive, rename_rows(renames, from_schema, false, NIL));
	*down = rename_rows(renames, from_schema, true, diff_direction(t, f, false, NIL));
	return up;
}

/* A required argument. */
static void
check_not_null(FunctionCallInfo fcinfo, int argno, const char *name)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("argument %s must not be null", name)));
}

/* Puts the rows of one direction into the result. */
static void
put_rows(ReturnSetInfo *rsinfo, List *rows, const char *direction)
{
	ListCell   *lc;
	int			ordinal = 0;

	foreach(lc, rows)
	{
		DiffRow    *row = lfirst(lc);
		Datum		values[5];
		bool		nulls[5] = {false, false, false, false, false};

		values[0] = CStringGetTextDatum(direction);
		values[1] = Int32GetDatum(++ordinal);
		values[2] = CStringGetTextDatum(row->kind);
		values[3] = CStringGetTextDatum(row->identity);
		values[4] = CStringGetTextDatum(row->statement);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
}

PG_FUNCTION_INFO_V1(migrate_diff);

/* migrate.diff(from_schema, to_schema, renames, allow_destructive): up and down rows. */
Datum
migrate_diff(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo;
	List	   *up;
	List	   *down;

	check_not_null(fcinfo, 0, "from_schema");
	check_not_null(fcinfo, 1, "to_schema");
	check_not_null(fcinfo, 2, "renames");
	check_not_null(fcinfo, 3, "allow_destructive");
	InitMaterializedSRF(fcinfo, 0);
	rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	catalog_connect();
	up = diff_compute(text_to_cstring(PG_GETARG_TEXT_PP(0)), text_to_cstring(PG_GETARG_TEXT_PP(1)),
					  PG_GETARG_ARRAYTYPE_P(2), PG_GETARG_BOOL(3), &down);
	put_rows(rsinfo, up, "up");
	put_rows(rsinfo, down, "down");
	SPI_finish();
	return (Datum) 0;
}

/* The statements of rows, one per line, in the given memory context. */
static char *
rows_sql(List *rows, MemoryContext cxt)
{
	StringInfoData buf;
	ListCell   *lc;
	MemoryContext old = MemoryContextSwitchTo(cxt);

	initStringInfo(&buf);
	foreach(lc, rows)
		appendStringInfo(&buf, "%s\n", ((DiffRow *) lfirst(lc))->statement);
	MemoryContextSwitchTo(old);
	return buf.data;
}

PG_FUNCTION_INFO_V1(migrate_autogenerate);

/*
 * migrate.autogenerate(id, message, from_schema, to_schema, renames,
 * allow_destructive): the diff registered as a revision, as add() does.
 */
Datum
migrate_autogenerate(PG_FUNCTION_ARGS)
{
	char	   *id = text_arg_or_null(fcinfo, 0);
	char	   *message = text_arg_or_null(fcinfo, 1);
	MemoryContext fn_cxt = CurrentMemoryContext;
	char	   *from_schema;
	char	   *to_schema;
	List	   *up;
	List	   *down;
	char	   *up_sql;
	char	   *down_sql;
	AuditContext ac;
	char	   *result;

	check_not_null(fcinfo, 2, "from_schema");
	check_not_null(fcinfo, 3, "to_schema");
	check_not_null(fcinfo, 4, "renames");
	check_not_null(fcinfo, 5, "allow_destructive");
	from_schema = text_to_cstring(PG_GETARG_TEXT_PP(2));
	to_schema = text_to_cstring(PG_GETARG_TEXT_PP(3));
	catalog_connect();
	up = diff_compute(from_schema, to_schema, PG_GETARG_ARRAYTYPE_P(4), PG_GETARG_BOOL(5), &down);
	if (up == NIL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("schema \"%s\" is already like schema \"%s\"", from_schema, to_schema),
				 errdetail("The diff has no statements, so there is no revision to register."),
				 errhint("Change schema \"%s\" first.", to_schema)));
	up_sql = rows_sql(up, fn_cxt);
	down_sql = rows_sql(down, fn_cxt);
	SPI_finish();

	operation_begin("migrate.autogenerate()", 0);
	audit_begin(&ac, "add", NULL, 0);
	result = register_revision(id, up_sql, down_sql, NULL, message ? message : "", NULL, NULL,
							   -1, NULL, NULL, &ac);
	result = MemoryContextStrdup(fn_cxt, result);
	operation_end(0);
	PG_RETURN_TEXT_P(cstring_to_text(result));
}
