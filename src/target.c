/*
 * target.c
 *		Parsing and resolving the targets of SPEC section 2.
 *
 *	head, heads, base, current, <rev>, +N, -N, <rev>+N, <rev>-N,
 *	<label>@head, <label>@heads, <label>@base, <label>@<rev>, <label>@+N,
 *	<label>@-N, <label>@head-N, <label>@base+N, <label>@<rev>+N
 *
 * A branch is Alembic's: the labelled revision, its descendants and its
 * ancestors down to, not including, the nearest fork or merge (graph.c).
 *
 * A <rev> is a full id, a branch label or a unique id prefix of at least four
 * characters.  Relative steps walk the unique child or parent chain and stop
 * with an error at a fork, where "one step" has no single meaning, and going
 * back at a merge; a step forward into a merge is the merge (Alembic), one
 * step back from a merge, the last of a walk, is its parents.  With
 * a label, as in Alembic's _walk, a step forward counts only the children on
 * the label's lineage (the labelled revision's ancestors and descendants),
 * and <label>@+N / <label>@-N start at the current head on that lineage.
 *
 * Ids may contain "-" (2019-02-26-002946_create_user), so a text that is an
 * id or a label is that revision, even "x-1", and a text with "-" that starts
 * some id is that prefix; only then is "-N" at its end a relative step.
 */
#include "migrate.h"

#include <limits.h>

#define TARGET_MAXLEN	(2 * MIGRATE_ID_MAXLEN + 16)
#define PREFIX_MINLEN	4

/*
 * A position in the graph: a revision, "before everything" (rev = -1), or
 * the parents of merge revision rev (parents, only at the end of a walk).
 */
typedef struct Position
{
	int			rev;
	bool		parents;
} Position;

/* What a target's text names, before anything in it is looked up. */
typedef enum TargetForm
{
	FORM_BASE,					/* base */
	FORM_HEAD,					/* head */
	FORM_HEADS,					/* heads */
	FORM_CURRENT,				/* current */
	FORM_REVISION,				/* <rev> */
	FORM_STEP,					/* +N, -N, <rev>+N, <rev>-N */
	FORM_BRANCH_HEAD,			/* <label>@head */
	FORM_BRANCH_HEADS,			/* <label>@heads */
	FORM_BRANCH_BASE,			/* <label>@base */
	FORM_BRANCH_REV,			/* <label>@<rev> */
	FORM_BRANCH_STEP			/* <label>@+N, <label>@head-N, <label>@<rev>+N, ... */
} TargetForm;

/* A target's text taken apart by target_parse(). */
typedef struct ParsedTarget
{
	TargetForm	form;
	const char *ref;			/* the <rev> or <label>; for FORM_STEP also
								 * head, current or base, or NULL for a step
								 * from current */
	const char *from;			/* after "@": head, base or a <rev> the
								 * branch step starts at, or NULL for the
								 * current head on the label's lineage; the
								 * <rev> of <label>@<rev> */
	int			steps;			/* the N of a relative step */
	bool		forward;		/* the step is +N */
} ParsedTarget;

/* Refuses a malformed target; detail is already translated. */
static void
target_syntax_error(const char *text, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid target \"%s\"", text),
			 errdetail("%s", detail),
			 errhint("A target is head, heads, base, a revision id, a branch label, a unique id prefix "
					 "of at least 4 characters, +N, -N, <revision>+N, <revision>-N, "
					 "or <label>@head, <label>@base, <label>@+N, <label>@-N.")));
}

/* Parses the N of +N / -N: 1 .. INT_MAX, digits only. */
static int
parse_steps(const char *s, const char *text)
{
	long		n = 0;

	if (*s == '\0')
		target_syntax_error(text, _("A relative step needs a number after \"+\" or \"-\"."));
	for (; *s; s++)
	{
		if (*s < '0' || *s > '9')
			target_syntax_error(text, _("A relative step is \"+\" or \"-\" followed by digits."));
		n = n * 10 + (*s - '0');
		if (n > INT_MAX)
			target_syntax_error(text, _("The number of steps is too large."));
	}
	if (n == 0)
		target_syntax_error(text, _("A relative step must be at least 1."));
	return (int) n;
}

/*
 * A revision named by id, branch label or unique prefix of at least four
 * characters.
 */
int
revision_resolve(Graph *g, const char *ref)
{
	int			rev;
	int			first = -1,
				second = -1;
	int			matches;

	validate_name(ref, NAME_REVISION);
	rev = graph_lookup(g, ref);
	if (rev >= 0)
		return rev;

	if (strlen(ref) >= PREFIX_MINLEN)
	{
		matches = graph_find_prefix(g, ref, &first, &second);
		if (matches == 1)
			return first;
		if (matches > 1)
			ereport(ERROR,
					(errcode(ERRCODE_CARDINALITY_VIOLATION),
					 errmsg("revision prefix \"%s\" is ambiguous", ref),
					 errdetail("It matches \"%s\", \"%s\" and possibly more.",
							   g->revs[first].id, g->revs[second].id),
					 errhint("Use more characters of the id.")));
	}
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_OBJECT),
			 errmsg("revision \"%s\" does not exist", ref),
			 strlen(ref) < PREFIX_MINLEN ?
			 errdetail_plural("An id prefix must have at least %d character.",
							  "An id prefix must have at least %d characters.",
							  PREFIX_MINLEN, PREFIX_MINLEN) : 0,
			 errhint("Run \"SELECT * FROM migrate.revisions()\" to list the known revisions.")));
	return -1;					/* keep compiler quiet */
}

/* The single graph head; an empty graph has none (-1). */
static int
single_head(Graph *g)
{
	int			nheads;
	int		   *heads = graph_heads(g, &nheads);

	if (nheads > 1)
		ereport(ERROR,
				(errcode(ERRCODE_CARDINALITY_VIOLATION),
				 errmsg_plural("the revision graph has %d head", "the revision graph has %d heads",
							   nheads, nheads),
				 errdetail("The heads are %s.", graph_id_list(g, heads, nheads, 10)),
				 errhint("Use 'heads', a branch label such as 'name@head', or merge them with migrate.merge().")));
	return nheads == 1 ? heads[0] : -1;
}

/* The single current head, or -1 when nothing is applied. */
static Position
current_position(Graph *g)
{
	int			n;
	int		   *cur = graph_current_heads(g, &n);
	Position	pos = {-1, false};

	if (n > 1)
		ereport(ERROR,
				(errcode(ERRCODE_CARDINALITY_VIOLATION),
				 errmsg_plural("the database has %d current head", "the database has %d current heads",
							   n, n),
				 errdetail("The current heads are %s.", graph_id_list(g, cur, n, 10)),
				 errhint("Name a branch, as in 'name@-1', or a revision, as in '<revision>-1'.")));
	pos.rev = n == 1 ? cur[0] : -1;
	return pos;
}

/*
 * Whether rev is where <label>@+N (forward) or <label>@-N starts when no
 * current head is on the label's lineage: for +N an applied revision of the
 * lineage none of whose children on it is applied, for -N an applied
 * revision of the lineage with no applied child (Alembic's
 * _parse_upgrade_target and _parse_downgrade_target).
 */
static bool
lineage_applied_tip(Graph *g, const bool *lineage, int rev, bool forward)
{
	Revision   *r = &g->revs[rev];

	if (!lineage[rev] || !r->applied)
		return false;
	for (int j = 0; j < r->nchildren; j++)
		if (g->revs[r->children[j]].applied && (!forward || lineage[r->children[j]]))
			return false;
	return true;
}

/*
 * Where <label>@+N or <label>@-N starts, as in Alembic: the current head (a
 * revision its version table lists) on the label's lineage, else the applied
 * tip of the lineage (lineage_applied_tip); -1 (base) when there is none.
 */
static Position
lineage_current_position(Graph *g, int label, const bool *lineage, bool forward,
						 const char *text)
{
	Position	pos = {-1, false};
	int			found = 0;

	for (int pass = 0; pass < 2 && found == 0; pass++)
		for (int i = 0; i < g->nrevs; i++)
		{
			if (pass == 0 ? !lineage[i] || !graph_is_top_applied(g, i) :
				!lineage_applied_tip(g, lineage, i, forward))
				continue;
			if (found++ > 0)
				ereport(ERROR,
						(errcode(ERRCODE_CARDINALITY_VIOLATION),
						 errmsg("target \"%s\" is ambiguous", text),
						 errdetail("Several current revisions, \"%s\" and \"%s\", are ancestors or descendants of \"%s\".",
								   g->revs[pos.rev].id, g->revs[i].id, g->revs[label].id),
						 forward ? errhint("Step from one of them by name, as in '<revision>+1'.") :
						 errhint("Step from one of them by name, as in '<revision>-1'.")));
			pos.rev = i;
		}
	return pos;
}

/* The single head of the branch of rev. */
static int
branch_head(Graph *g, int rev, const char *text)
{
	bool	   *members = graph_branch_members(g, rev);
	int			root = graph_branch_root(g, rev);
	int			head = -1;

	for (int i = 0; i < g->nrevs; i++)
	{
		if (!members[i] || !graph_is_head(g, i))
			continue;
		if (head >= 0)
			ereport(ERROR,
					(errcode(ERRCODE_CARDINALITY_VIOLATION),
					 errmsg("target \"%s\" is ambiguous", text),
					 errdetail("The branch starting at \"%s\" has several heads, \"%s\" and \"%s\".",
							   g->revs[root].id, g->revs[head].id, g->revs[i].id),
					 errhint("Merge them with migrate.merge(), or name one head.")));
		head = i;
	}
	return head;
}

/*
 * The single root of the graph (on lineage, when given): where a step
 * forward from base leads.
 */
static int
single_root(Graph *g, const bool *lineage, const char *text)
{
	int			found = -1;

	for (int i = 0; i < g->nrevs; i++)
	{
		if (g->revs[i].nparents != 0 || (lineage != NULL && !lineage[i]))
			continue;
		if (found >= 0)
			ereport(ERROR,
					(errcode(ERRCODE_CARDINALITY_VIOLATION),
					 errmsg("target \"%s\" is ambiguous", text),
					 errdetail("The graph has several roots, \"%s\" and \"%s\".",
							   g->revs[found].id, g->revs[i].id),
					 errhint("Name the revision to upgrade to.")));
		found = i;
	}
	if (found < 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("target \"%s\" does not exist", text),
				 errdetail("The revision graph is empty.")));
	return found;
}

/*
 * The unique child of rev (on lineage, when given); left counts the steps to
 * go, for the error past a head.
 */
static int
only_child(Graph *g, int rev, int left, const bool *lineage, const char *text)
{
	Revision   *r = &g->revs[rev];
	Revision   *child = NULL;
	int			nchildren = 0;

	for (int j = 0; j < r->nchildren; j++)
		if (lineage == NULL || lineage[r->children[j]])
		{
			if (nchildren++ == 0)
				child = &g->revs[r->children[j]];
		}
	if (nchildren == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("target \"%s\" does not exist", text),
				 errdetail_plural("It goes %d step past the head \"%s\".",
								  "It goes %d steps past the head \"%s\".",
								  left, left, r->id)));
	if (nchildren > 1)
		ereport(ERROR,
				(errcode(ERRCODE_CARDINALITY_VIOLATION),
				 errmsg("target \"%s\" is ambiguous", text),
				 errdetail_plural("Revision \"%s\" is a fork with %d child.",
								  "Revision \"%s\" is a fork with %d children.",
								  nchildren, r->id, nchildren),
				 errhint("Name a branch, as in 'name@+1', or the revision itself.")));
	/* a merge is walked into, as Alembic does: upgrading to it applies its other parents */
	return child - g->revs;
}

/*
 * Moves n steps forward along the unique child chain; with a label's
 * lineage, only its members count as children (Alembic's _walk).
 */
static Position
step_forward(Graph *g, Position pos, int n, const bool *lineage, const char *text)
{
	for (int k = 0; k < n; k++)
	{
		if (pos.rev >= 0)
			pos.rev = only_child(g, pos.rev, n - k, lineage, text);
		else
			pos.rev = single_root(g, lineage, text);
	}
	return pos;
}

/* Moves n steps back along the unique parent chain, down to base. */
static Position
step_backward(Graph *g, Position pos, int n, const char *text)
{
	for (int k = 0; k < n; k++)
	{
		Revision   *r;

		if (pos.rev < 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("target \"%s\" does not exist", text),
					 k == 0 ? errdetail("It starts at base, with nothing before it.") :
					 errdetail_plural("It goes %d steps back, but base is only %d step back.",
									  "It goes %d steps back, but base is only %d steps back.",
									  k, n, k),
					 k == 0 ? 0 : errhint("Go back at most %d, or to \"base\".", k)));
		r = &g->revs[pos.rev];
		if (r->nparents == 0)
			pos.rev = -1;
		else if (r->nparents > 1 && k == n - 1)
			pos.parents = true; /* one step back from a merge: its parents */
		else if (r->nparents > 1)
			ereport(ERROR,
					(errcode(ERRCODE_CARDINALITY_VIOLATION),
					 errmsg("target \"%s\" is ambiguous", text),
					 errdetail_plural("Revision \"%s\" is a merge of %d revision.",
									  "Revision \"%s\" is a merge of %d revisions.",
									  r->nparents, r->id, r->nparents),
					 errhint("Step back to the merge's parents with one step less, or name one of them.")));
		else
			pos.rev = r->parents[0];
	}
	return pos;
}

/*
 * Moves n steps along the unique child (forward, among lineage when given)
 * or parent chain.
 */
static Position
step_position(Graph *g, Position pos, int n, bool forward, const bool *lineage,
			  const char *text)
{
	if (forward)
		return step_forward(g, pos, n, lineage, text);
	return step_backward(g, pos, n, text);
}

/* A target of the given kind with room for nrevs revisions. */
static Target *
make_target(TargetKind kind, int nrevs)
{
	Target	   *t = palloc0(sizeof(Target));

	t->kind = kind;
	t->nrevs = nrevs;
	t->revs = palloc(sizeof(int) * Max(nrevs, 1));
	return t;
}

/* The target at a resolved position: revisions, or base. */
static Target *
position_target(Graph *g, Position pos)
{
	Target	   *t;

	if (pos.parents)
	{
		Revision   *r = &g->revs[pos.rev];

		t = make_target(TARGET_REVISIONS, r->nparents);
		memcpy(t->revs, r->parents, sizeof(int) * r->nparents);
	}
	else if (pos.rev >= 0)
	{
		t = make_target(TARGET_REVISIONS, 1);
		t->revs[0] = pos.rev;
	}
	else
		t = make_target(TARGET_BASE, 0);
	return t;
}

/* A single position named by head, current, base or a revision. */
static Position
named_position(Graph *g, const char *ref, const char *text)
{
	Position	pos = {-1, false};

	if (strcmp(ref, "head") == 0)
	{
		pos.rev = single_head(g);
		if (pos.rev < 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("target \"%s\" does not exist", text),
					 errdetail("The revision graph is empty.")));
	}
	else if (strcmp(ref, "current") == 0)
		pos = current_position(g);
	else if (strcmp(ref, "base") == 0)
		pos.rev = -1;
	else
		pos.rev = revision_resolve(g, ref);
	return pos;
}

/* Refuses an empty or too long target, or a character no target form uses. */
static void
check_target_text(const char *text)
{
	size_t		len = strlen(text);

	if (len == 0)
		target_syntax_error(text, _("The target is empty."));
	if (len > TARGET_MAXLEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("target is too long"),
				 errdetail_plural("A target has at most %d character.", "A target has at most %d characters.",
								  TARGET_MAXLEN, TARGET_MAXLEN)));
	for (size_t i = 0; i < len; i++)
		if (!is_name_char(text[i]) && text[i] != '@' && text[i] != '+' && text[i] != '-')
			target_syntax_error(text, _("A target may contain only letters, digits, \"_\", \".\", \"@\", \"+\" and \"-\"."));
}

/* The last "+" or "-" of s followed only by digits, or NULL. */
static const char *
trailing_step_sign(const char *s)
{
	const char *sign = NULL;

	for (const char *c = s; *c; c++)
		if (*c == '+' || *c == '-')
			sign = c;
	if (sign == NULL || sign[1] == '\0' || strspn(sign + 1, "0123456789") != strlen(sign + 1))
		return NULL;
	return sign;
}

/*
 * Parses what follows "<label>@" (at is the "@"): head, heads, base, +N,
 * -N, head-N, base+N, a <rev> or <rev>+N.
 */
static void
parse_branch_target(const char *text, const char *at, ParsedTarget *pt)
{
	const char *suffix = at + 1;
	const char *sign;

	if (strchr(suffix, '@') != NULL)
		target_syntax_error(text, _("A target contains at most one \"@\"."));
	pt->ref = pnstrdup(text, at - text);
	if (pt->ref[0] == '\0')
		target_syntax_error(text, _("A branch label is needed before \"@\"."));
	if (suffix[0] == '\0')
		target_syntax_error(text, _("After \"@\" comes head, heads, base, a revision, +N or -N."));
	pt->form = strcmp(suffix, "head") == 0 ? FORM_BRANCH_HEAD :
		strcmp(suffix, "heads") == 0 ? FORM_BRANCH_HEADS :
		strcmp(suffix, "base") == 0 ? FORM_BRANCH_BASE : FORM_BRANCH_REV;
	if (pt->form != FORM_BRANCH_REV)
		return;
	pt->from = suffix;
	sign = trailing_step_sign(suffix);
	if (suffix[0] == '+' || suffix[0] == '-')
		sign = suffix;
	if (sign == NULL)
		return;
	pt->form = FORM_BRANCH_STEP;
	pt->forward = *sign == '+';
	pt->steps = parse_steps(sign + 1, text);
	pt->from = sign == suffix ? NULL : pnstrdup(suffix, sign - suffix);
	if (pt->from != NULL && strcmp(pt->from, "heads") == 0)
		target_syntax_error(text, _("\"heads\" names several revisions; a relative step needs one."));
}

/* Parses +N, -N, <rev>+N or <rev>-N; sign is the last "+" or "-". */
static void
parse_step_target(const char *text, const char *sign, ParsedTarget *pt)
{
	pt->form = FORM_STEP;
	pt->forward = *sign == '+';
	/* digits only: a second step is refused here */
	pt->steps = parse_steps(sign + 1, text);
	if (sign == text)
		return;					/* from current */
	pt->ref = pnstrdup(text, sign - text);
	/* a "-" may belong to an id, a "+" never does */
	if (strchr(pt->ref, '+') != NULL || pt->ref[0] == '-')
		target_syntax_error(text, _("A relative step is \"+\" or \"-\" followed by digits."));
	if (strcmp(pt->ref, "heads") == 0)
		target_syntax_error(text, _("\"heads\" names several revisions; a relative step needs one."));
}

/* Takes a target's text apart, raising every error of the grammar. */
static void
target_parse(const char *text, ParsedTarget *pt)
{
	const char *at;
	const char *sign;

	check_target_text(text);
	memset(pt, 0, sizeof(ParsedTarget));
	at = strchr(text, '@');
	/* the last one: the <rev> before it may hold "-" */
	sign = NULL;
	for (const char *c = text; *c; c++)
		if (*c == '+' || *c == '-')
			sign = c;
	if (at != NULL)
		parse_branch_target(text, at, pt);
	else if (sign != NULL)
		parse_step_target(text, sign, pt);
	else if (strcmp(text, "base") == 0)
		pt->form = FORM_BASE;
	else if (strcmp(text, "head") == 0)
		pt->form = FORM_HEAD;
	else if (strcmp(text, "heads") == 0)
		pt->form = FORM_HEADS;
	else if (strcmp(text, "current") == 0)
		pt->form = FORM_CURRENT;
	else
	{
		pt->form = FORM_REVISION;
		pt->ref = text;
	}
}

/*
 * The revision ref (an id, a label or a prefix of an id) on the lineage of
 * rev, its ancestors and descendants, as Alembic's <label>@<rev> wants it.
 */
static int
lineage_revision(Graph *g, int rev, const char *ref, const char *text)
{
	bool	   *lineage = graph_new_marks(g);
	int			found = graph_lookup(g, ref);
	int			matches = 0;

	validate_name(ref, NAME_REVISION);
	graph_mark_lineage(g, rev, lineage, false);
	for (int i = 0; found < 0 && strlen(ref) >= PREFIX_MINLEN && i < g->nrevs; i++)
		if (lineage[i] && strncmp(g->revs[i].id, ref, strlen(ref)) == 0 && matches++ == 0)
			found = i;
	if (matches > 1)
		ereport(ERROR,
				(errcode(ERRCODE_CARDINALITY_VIOLATION),
				 errmsg("revision prefix \"%s\" is ambiguous", ref),
				 errdetail("It matches %d revisions on the branch of \"%s\".", matches, g->revs[rev].id),
				 errhint("Use more characters of the id.")));
	if (found < 0)
		found = revision_resolve(g, ref);
	if (!lineage[found])
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("target \"%s\" does not exist", text),
				 errdetail("Revision \"%s\" is neither an ancestor nor a descendant of \"%s\".",
						   g->revs[found].id, g->revs[rev].id)));
	return found;
}

/* Whether ref is an id, a label or the prefix of some id. */
static bool
names_some_revision(Graph *g, const char *ref)
{
	int			first;
	int			second;

	return graph_lookup(g, ref) >= 0 ||
		(strlen(ref) >= PREFIX_MINLEN && graph_find_prefix(g, ref, &first, &second) > 0);
}

/* Every graph head on the branch of rev. */
static Target *
branch_heads_target(Graph *g, int rev)
{
	bool	   *members = graph_branch_members(g, rev);
	int			n;
	int		   *heads = graph_heads(g, &n);
	Target	   *t = make_target(TARGET_REVISIONS, n);

	t->nrevs = 0;
	for (int i = 0; i < n; i++)
		if (members[heads[i]])
			t->revs[t->nrevs++] = heads[i];
	return t;
}

/*
 * Where a branch step starts: the current revision on the lineage of rev,
 * head, base or a revision.
 */
static Position
branch_step_start(Graph *g, int rev, const ParsedTarget *pt, const bool *lineage,
				  const char *text)
{
	const char *from = pt->from;
	Position	pos = {-1, false};

	if (from == NULL)
		return lineage_current_position(g, rev, lineage, pt->forward, text);
	if (strcmp(from, "head") == 0)
		pos.rev = branch_head(g, rev, text);
	else if (strcmp(from, "base") != 0)
		pos.rev = lineage_revision(g, rev, from, text);
	return pos;
}

/* The target of <label>@ followed by head, heads, base, a revision or a step. */
static Target *
resolve_branch_target(Graph *g, const ParsedTarget *pt, const char *text)
{
	const char *suffix = strchr(text, '@') + 1;
	int			rev;
	Target	   *t;
	Position	pos;
	bool	   *lineage;

	/* a malformed suffix is 22023 whatever the label names */
	if (pt->form == FORM_BRANCH_REV && !names_some_revision(g, pt->from))
		target_syntax_error(text, _("After \"@\" comes head, heads, base, a revision, +N or -N."));
	rev = revision_resolve(g, pt->ref);
	switch (pt->form)
	{
		case FORM_BRANCH_HEADS:
			return branch_heads_target(g, rev);
		case FORM_BRANCH_BASE:
			t = make_target(TARGET_BRANCH_BASE, 1);
			t->revs[0] = graph_branch_root(g, rev);
			return t;
		case FORM_BRANCH_HEAD:
		case FORM_BRANCH_REV:
			t = make_target(TARGET_REVISIONS, 1);
			t->revs[0] = pt->form == FORM_BRANCH_HEAD ? branch_head(g, rev, text) :
				lineage_revision(g, rev, pt->from, text);
			return t;
		default:
			break;
	}
	/* an id that looks like a step ("x-1") is that id */
	if (pt->from != NULL && graph_lookup(g, suffix) >= 0)
	{
		t = make_target(TARGET_REVISIONS, 1);
		t->revs[0] = lineage_revision(g, rev, suffix, text);
		return t;
	}
	lineage = graph_new_marks(g);
	graph_mark_lineage(g, rev, lineage, false);
	pos = branch_step_start(g, rev, pt, lineage, text);
	pos = step_position(g, pos, pt->steps, pt->forward, lineage, text);
	return position_target(g, pos);
}

/* The target of +N, -N, <rev>+N or <rev>-N. */
static Target *
resolve_step_target(Graph *g, const ParsedTarget *pt, const char *text)
{
	Position	pos;

	if (pt->ref == NULL)
		pos = current_position(g);
	else
		pos = named_position(g, pt->ref, text);
	pos = step_position(g, pos, pt->steps, pt->forward, NULL, text);
	return position_target(g, pos);
}

/* The target of "head": the single graph head, none in an empty graph. */
static Target *
head_target(Graph *g)
{
	int			head = single_head(g);
	Target	   *t = make_target(TARGET_REVISIONS, head >= 0 ? 1 : 0);

	if (head >= 0)
		t->revs[0] = head;
	return t;
}

/* The target of "heads" (every graph head) or "current" (every current head). */
static Target *
heads_target(Graph *g, bool current)
{
	int			n;
	int		   *revs = current ? graph_current_heads(g, &n) : graph_heads(g, &n);
	Target	   *t;

	/* nothing applied: "current" is the empty set, not base */
	t = make_target(TARGET_REVISIONS, n);
	memcpy(t->revs, revs, sizeof(int) * n);
	return t;
}

/*
 * The revision a target with "-" names as a whole (an id, a label, or the
 * prefix of some id), or -1 when it is to be parsed as a relative step.
 */
static int
revision_with_dash(Graph *g, const char *text)
{
	int			first;
	int			second;

	if (strchr(text, '-') == NULL || strpbrk(text, "@+") != NULL || text[0] == '-')
		return -1;
	if (graph_lookup(g, text) >= 0 ||
		(strlen(text) >= PREFIX_MINLEN && graph_find_prefix(g, text, &first, &second) > 0))
		return revision_resolve(g, text);
	return -1;
}

/* Parses and resolves a target against the graph and the applied set. */
Target *
target_resolve(Graph *g, const char *text)
{
	ParsedTarget pt;
	Target	   *t;
	int			rev;

	check_target_text(text);
	rev = revision_with_dash(g, text);
	if (rev >= 0)
	{
		t = make_target(TARGET_REVISIONS, 1);
		t->revs[0] = rev;
		return t;
	}

	/*
	 * The whole syntax first: a malformed target is 22023 whatever it names.
	 * The names in it are checked as they are resolved.
	 */
	target_parse(text, &pt);
	switch (pt.form)
	{
		case FORM_BASE:
			return make_target(TARGET_BASE, 0);
		case FORM_HEAD:
			return head_target(g);
		case FORM_HEADS:
			return heads_target(g, false);
		case FORM_CURRENT:
			return heads_target(g, true);
		case FORM_STEP:
			return resolve_step_target(g, &pt, text);
		case FORM_BRANCH_HEAD:
		case FORM_BRANCH_HEADS:
		case FORM_BRANCH_BASE:
		case FORM_BRANCH_REV:
		case FORM_BRANCH_STEP:
			return resolve_branch_target(g, &pt, text);
		case FORM_REVISION:
			break;
	}
	t = make_target(TARGET_REVISIONS, 1);
	t->revs[0] = revision_resolve(g, pt.ref);
	return t;
}

/*
 * A target rebuilt from the ids it resolved to, against a newly loaded graph:
 * deploy resolves a relative target once, then re-reads the graph in each of
 * its transactions.
 */
Target *
target_from_ids(Graph *g, TargetKind kind, char **ids, int n)
{
	Target	   *t = make_target(kind, n);

	for (int i = 0; i < n; i++)
	{
		t->revs[i] = graph_find_id(g, ids[i]);
		if (t->revs[i] < 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("revision \"%s\" does not exist", ids[i]),
					 errdetail("It was removed while the deploy ran.")));
	}
	return t;
}

/*
 * The revision the label of a "<label>@..." target names, whose lineage a
 * downgrade keeps to at a fork (Alembic's branch_label), or -1 without one.
 */
int
target_label(Graph *g, const char *text)
{
	const char *at = strchr(text, '@');

	if (at == NULL || at == text)
		return -1;
	return revision_resolve(g, pnstrdup(text, at - text));
}

/*
 * Whether the target is a step back from the current state, -N or
 * <label>@-N, which an upgrade refuses as Alembic does.  An id never starts
 * with "-", so the text alone tells.
 */
bool
target_steps_back_from_current(const char *text)
{
	const char *at = strchr(text, '@');
	const char *step = at != NULL ? at + 1 : text;

	return step[0] == '-' && step[1] != '\0' &&
		strspn(step + 1, "0123456789") == strlen(step + 1);
}
