/*
 * plan.c
 *		Which revisions upgrade, downgrade and stamp touch, in which order
 *		(SPEC section 3).  Used alike by the operations and by migrate.plan(),
 *		so that a plan is exactly what the operation would do.
 */
#include "migrate.h"

#include "utils/builtins.h"

/* The name of an operation, as history and messages write it. */
const char *
operation_name(OperationKind op)
{
	switch (op)
	{
		case OP_UPGRADE:
			return "upgrade";
		case OP_DOWNGRADE:
			return "downgrade";
		case OP_STAMP:
			return "stamp";
	}
	return "?";
}

/* The revisions the target needs applied: its closure. */
bool *
target_closure(Graph *g, Target *t)
{
	bool	   *marks = graph_new_marks(g);

	if (t->kind == TARGET_REVISIONS)
		for (int i = 0; i < t->nrevs; i++)
			graph_mark_ancestors(g, t->revs[i], marks, true);
	else if (t->kind == TARGET_BRANCH_BASE)
	{
		Revision   *root = &g->revs[t->revs[0]];

		for (int j = 0; j < root->nparents; j++)
			graph_mark_ancestors(g, root->parents[j], marks, true);
	}
	return marks;
}

/*
 * Marks what a downgrade to revision rev unapplies: the descendants of its
 * children (T stays, so what only depends on T stays too).  With a label
 * (Alembic's branch_label) and a fork at rev, only the children on the way
 * to the labelled revision count, as in Alembic's
 * _collect_downgrade_revisions; a fork at or above the label has none (21000).
 */
static void
mark_after_revision(Graph *g, int rev, int label, bool *marks, const char *target_text)
{
	Revision   *r = &g->revs[rev];
	bool	   *toward = NULL;
	int			nroots = 0;

	if (label >= 0 && r->nchildren > 1)
	{
		toward = graph_new_marks(g);
		graph_mark_ancestors(g, label, toward, false);
	}
	for (int j = 0; j < r->nchildren; j++)
		if (toward == NULL || toward[r->children[j]])
		{
			graph_mark_descendants(g, r->children[j], marks, true);
			nroots++;
		}
	if (toward != NULL && nroots == 0)
		ereport(ERROR,
				(errcode(ERRCODE_CARDINALITY_VIOLATION),
				 errmsg("target \"%s\" is ambiguous for a downgrade", target_text),
				 errdetail("Revision \"%s\" is a fork at or above \"%s\": none of its %d children leads to the label.",
						   r->id, g->revs[label].id, r->nchildren),
				 errhint("Downgrade to \"%s\" without the label to unapply all of its children.", r->id)));
}

/*
 * Marks what a downgrade to base unapplies: everything, or with a label what
 * descends from the graph roots below the labelled revision (Alembic).
 */
static void
mark_after_base(Graph *g, int label, bool *marks)
{
	bool	   *below;

	if (label < 0)
	{
		memset(marks, true, sizeof(bool) * g->nrevs);
		return;
	}
	below = graph_new_marks(g);
	graph_mark_ancestors(g, label, below, false);
	for (int i = 0; i < g->nrevs; i++)
		if (below[i] && g->revs[i].nparents == 0)
			graph_mark_descendants(g, i, marks, true);
}

/*
 * The revisions a downgrade to the target removes (before intersecting with
 * applied); label is the revision the target's label names, or -1.
 */
static bool *
target_after(Graph *g, Target *t, int label, const char *target_text)
{
	bool	   *marks = graph_new_marks(g);

	if (t->kind == TARGET_BASE)
		mark_after_base(g, label, marks);
	else if (t->kind == TARGET_BRANCH_BASE)
		graph_mark_descendants(g, t->revs[0], marks, true);
	else
	{
		bool	   *keep = target_closure(g, t);

		/* a merge's parents (several revisions): every child of each */
		for (int i = 0; i < t->nrevs; i++)
			mark_after_revision(g, t->revs[i], t->nrevs == 1 ? label : -1, marks, target_text);

		/*
		 * What the target itself needs stays: with several target revisions,
		 * one may depend on another (downgrade('heads') changes nothing).
		 */
		for (int i = 0; i < g->nrevs; i++)
			marks[i] = marks[i] && !keep[i];
	}
	return marks;
}

/* Reverses a step order in place (downgrade runs children first). */
static void
reverse_steps(int *steps, int n)
{
	for (int i = 0, j = n - 1; i < j; i++, j--)
	{
		int			tmp = steps[i];

		steps[i] = steps[j];
		steps[j] = tmp;
	}
}

/* Refuses a downgrade whose steps (order, n) unapply an irreversible revision. */
static void
check_reversible(Graph *g, const int *order, int n, const char *target_text)
{
	int			nirreversible = 0;
	int		   *irreversible = palloc(sizeof(int) * Max(n, 1));

	for (int i = 0; i < n; i++)
		if (g->revs[order[i]].irreversible)
			irreversible[nirreversible++] = order[i];
	if (nirreversible > 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot downgrade to \"%s\": revision \"%s\" is irreversible",
						target_text, g->revs[irreversible[0]].id),
				 errdetail_plural("The downgrade would unapply %d revision without down SQL: %s.",
								  "The downgrade would unapply %d revisions without down SQL: %s.",
								  nirreversible,
								  nirreversible, graph_id_list(g, irreversible, nirreversible, 10)),
				 errhint("Give it down SQL with migrate.repair(), or use migrate.stamp() to change the applied set without running SQL.")));
	pfree(irreversible);
}

/* Upgrade: what the target needs and is not applied, parents first. */
static StepPlan *
plan_upgrade(Graph *g, Target *t, const char *target_text)
{
	StepPlan   *plan = palloc0(sizeof(StepPlan));
	bool	   *marks;

	if (target_steps_back_from_current(target_text))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot upgrade to \"%s\"", target_text),
				 errdetail("A step back from the current state is not an upgrade."),
				 errhint("Use migrate.downgrade(%s) to go back.", quote_literal_cstr(target_text))));
	if (t->kind == TARGET_BASE)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot upgrade to \"%s\"", target_text),
				 errdetail("The target means that nothing is applied."),
				 errhint("Use migrate.downgrade('base') to unapply every revision.")));
	marks = target_closure(g, t);
	for (int i = 0; i < g->nrevs; i++)
		marks[i] = marks[i] && !g->revs[i].applied;
	plan->steps = graph_order(g, marks, &plan->nsteps);
	plan->unapply = palloc0(sizeof(bool) * Max(plan->nsteps, 1));
	return plan;
}

/*
 * Refuses a downgrade to a single revision that unapplies nothing and is not
 * at the top of the applied set: it is above the current state, or something
 * applied needs it (Alembic's RangeNotAncestorError).
 */
static void
check_downgrade_target(Graph *g, Target *t, int nsteps, const char *target_text)
{
	Revision   *r;

	if (nsteps > 0 || t->kind != TARGET_REVISIONS || t->nrevs != 1 ||
		graph_is_top_applied(g, t->revs[0]))
		return;
	r = &g->revs[t->revs[0]];
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("cannot downgrade to \"%s\": it is not below the current state", target_text),
			 !r->applied ?
			 errdetail("Revision \"%s\" is not applied.", r->id) :
			 errdetail("Revision \"%s\" is applied, but what is applied above it only depends on it, and stays.", r->id),
			 errhint("Downgrade to an applied revision below a current head, or use migrate.upgrade() to go forward.")));
}

/* Downgrade: what is applied after the target, children first. */
static StepPlan *
plan_downgrade(Graph *g, Target *t, const char *target_text)
{
	StepPlan   *plan = palloc0(sizeof(StepPlan));
	bool	   *marks = target_after(g, t, target_label(g, target_text), target_text);
	int			n;

	for (int i = 0; i < g->nrevs; i++)
		marks[i] = marks[i] && g->revs[i].applied;
	plan->steps = graph_order(g, marks, &n);
	reverse_steps(plan->steps, n);
	check_downgrade_target(g, t, n, target_text);
	check_reversible(g, plan->steps, n, target_text);
	plan->nsteps = n;
	plan->unapply = palloc(sizeof(bool) * Max(n, 1));
	memset(plan->unapply, true, sizeof(bool) * Max(n, 1));
	return plan;
}

/*
 * The lineage whose current heads a stamp moves: that of the target's
 * revisions (for X@base the root of X's branch, whose lineage is X's).  For
 * <label>@..., when some current head is on it and the target is not one,
 * the labelled revision's lineage too: Alembic's _stamp_revs then moves
 * every head on either (else none: the target is already current, or
 * starts a branch of its own).
 */
static bool *
stamp_anchors(Graph *g, Target *t, int label)
{
	bool	   *lineage = graph_new_marks(g);

	if (t->kind == TARGET_BASE)
		memset(lineage, true, sizeof(bool) * g->nrevs);
	else
		for (int i = 0; i < t->nrevs; i++)
		{
			graph_mark_lineage(g, t->revs[i], lineage, true);
			if (graph_is_top_applied(g, t->revs[i]))
				label = -1;
		}
	for (int i = 0; label >= 0 && i < g->nrevs; i++)
		if (lineage[i] && graph_is_top_applied(g, i))
		{
			graph_mark_lineage(g, label, lineage, true);
			break;
		}
	return lineage;
}

/*
 * What a stamp leaves applied, as Alembic's stamp: the heads of the applied
 * set on the target's lineage move to the target; the others stay.
 */
static bool *
stamp_keep(Graph *g, Target *t, int label)
{
	bool	   *lineage = stamp_anchors(g, t, label);
	bool	   *keep = target_closure(g, t);

	for (int i = 0; i < g->nrevs; i++)
		if (graph_is_top_applied(g, i) && !lineage[i])
			graph_mark_ancestors(g, i, keep, true);
	return keep;
}

/* Stamp: unapplies what the target does not need, then applies what it needs. */
static StepPlan *
plan_stamp(Graph *g, Target *t, const char *target_text)
{
	StepPlan   *plan = palloc0(sizeof(StepPlan));
	bool	   *keep = stamp_keep(g, t, target_label(g, target_text));
	bool	   *remove = graph_new_marks(g);
	bool	   *add = graph_new_marks(g);
	int			nremove,
				nadd;
	int		   *remove_order,
			   *add_order;

	for (int i = 0; i < g->nrevs; i++)
	{
		remove[i] = g->revs[i].applied && !keep[i];
		add[i] = !g->revs[i].applied && keep[i];
	}
	/* what goes, children first; then what comes, parents first */
	remove_order = graph_order(g, remove, &nremove);
	reverse_steps(remove_order, nremove);
	add_order = graph_order(g, add, &nadd);

	plan->nsteps = nremove + nadd;
	plan->steps = palloc(sizeof(int) * Max(plan->nsteps, 1));
	plan->unapply = palloc(sizeof(bool) * Max(plan->nsteps, 1));
	for (int i = 0; i < nremove; i++)
	{
		plan->steps[i] = remove_order[i];
		plan->unapply[i] = true;
	}
	for (int i = 0; i < nadd; i++)
	{
		plan->steps[nremove + i] = add_order[i];
		plan->unapply[nremove + i] = false;
	}
	return plan;
}

/*
 * The steps of upgrade, downgrade or stamp to target t, checked for what
 * would refuse them.
 */
StepPlan *
plan_build(Graph *g, OperationKind op, Target *t, const char *target_text)
{
	switch (op)
	{
		case OP_UPGRADE:
			return plan_upgrade(g, t, target_text);
		case OP_DOWNGRADE:
			return plan_downgrade(g, t, target_text);
		case OP_STAMP:
			break;
	}
	return plan_stamp(g, t, target_text);
}
