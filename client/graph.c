/*
 * graph.c: pg_migrate graph, the revision graph drawn as `git log --graph`
 * draws commits (newest first, a line per revision, "|", "|\" and "|/" for
 * forks and merges), or written for Graphviz (--format dot) or Mermaid
 * (--format mermaid).  Parents are edges; depends_on is a note in the text
 * and a dashed edge in the others.
 */
#include <stdlib.h>
#include <string.h>

#include "pg_migrate.h"

/* One revision of revisions(), with its parents as indexes. */
typedef struct GraphRev
{
	const char *id;
	const char *labels;			/* ", "-joined, "" when none */
	const char *depends;		/* ", "-joined, "" when none */
	const char *message;
	int		   *parents;
	int			nparents;
	int		   *depends_on;		/* indexes of depends_on, for the edges */
	int			ndepends_on;
	int			pending;		/* children not yet drawn */
} GraphRev;

/* The revisions and the order they are drawn in. */
typedef struct Graph
{
	GraphRev   *revs;
	int			n;
	int		   *order;
} Graph;

/* The index of the revision id, or -1. */
static int
graph_find(const Graph *g, const char *id)
{
	for (int i = 0; i < g->n; i++)
		if (strcmp(g->revs[i].id, id) == 0)
			return i;
	return -1;
}

/* The indexes of a space-separated list of ids; n gets their count. */
static int *
graph_indexes(const Graph *g, const char *list, int *n)
{
	char	   *copy = pg_strdup(list);
	int		   *out = pg_malloc(sizeof(int) * (strlen(list) / 2 + 1));
	char	   *save;

	*n = 0;
	for (char *p = strtok_r(copy, " ", &save); p != NULL; p = strtok_r(NULL, " ", &save))
	{
		int			j = graph_find(g, p);

		if (j >= 0)
			out[(*n)++] = j;
	}
	free(copy);
	return out;
}

/* Reads revisions(): ids, labels, depends_on, message, parents as indexes. */
static void
graph_read(PGconn *conn, Graph *g)
{
	PGresult   *res = run_query(conn, "SELECT r.revision, array_to_string(r.branch_labels, ', '), "
								"array_to_string(r.depends_on, ', '), r.message, "
								"array_to_string(r.parents, ' '), array_to_string(r.depends_on, ' ') "
								"FROM migrate.revisions() r", 0, NULL, NULL);

	g->n = PQntuples(res);
	g->revs = pg_malloc(sizeof(GraphRev) * (g->n + 1));
	for (int i = 0; i < g->n; i++)
	{
		g->revs[i].id = pg_strdup(PQgetvalue(res, i, 0));
		g->revs[i].labels = pg_strdup(PQgetvalue(res, i, 1));
		g->revs[i].depends = pg_strdup(PQgetvalue(res, i, 2));
		g->revs[i].message = pg_strdup(PQgetvalue(res, i, 3));
		g->revs[i].pending = 0;
	}
	for (int i = 0; i < g->n; i++)
	{
		g->revs[i].parents = graph_indexes(g, PQgetvalue(res, i, 4), &g->revs[i].nparents);
		g->revs[i].depends_on = graph_indexes(g, PQgetvalue(res, i, 5), &g->revs[i].ndepends_on);
		for (int j = 0; j < g->revs[i].nparents; j++)
			g->revs[g->revs[i].parents[j]].pending++;
	}
	PQclear(res);
}

/* Orders ids by their bytes, for the heads' order. */
static int
compare_ids(const void *a, const void *b, void *arg)
{
	const Graph *g = arg;

	return strcmp(g->revs[*(const int *) a].id, g->revs[*(const int *) b].id);
}

/*
 * The drawing order, newest first and a branch's revisions together, as
 * git's --topo-order: a revision comes once all its children are drawn, and
 * after a revision its first parent when it can.  A stack holds what may
 * come next; the head with the greatest id first.
 */
static void
graph_order(Graph *g)
{
	int		   *stack = pg_malloc(sizeof(int) * (g->n + 1));
	int			top = 0,
				k = 0;

	g->order = pg_malloc(sizeof(int) * (g->n + 1));
	for (int i = 0; i < g->n; i++)
		if (g->revs[i].pending == 0)
			stack[top++] = i;
	qsort_r(stack, top, sizeof(int), compare_ids, g);
	while (top > 0)
	{
		GraphRev   *r = &g->revs[stack[--top]];

		g->order[k++] = r - g->revs;
		for (int j = r->nparents - 1; j >= 0; j--)
			if (--g->revs[r->parents[j]].pending == 0)
				stack[top++] = r->parents[j];
	}
	g->n = k;					/* a cycle (a hand-edited catalog) is left out */
	free(stack);
}

/* Prints a line of the drawing, without trailing blanks. */
static void
print_line(char *line, int len)
{
	while (len > 0 && line[len - 1] == ' ')
		len--;
	printf("%.*s\n", len, line);
}

/*
 * Joins column j into column c (c < j), the columns right of j moving one to
 * the left: "|/", or "|_|/" across the columns between.
 */
static void
draw_collapse(int *cols, int *ncols, int c, int j)
{
	char	   *line = pg_malloc(2 * *ncols + 1);

	memset(line, ' ', 2 * *ncols);
	for (int k = 0; k < *ncols; k++)
		if (k < j)
			line[2 * k] = '|';
		else
			line[2 * k - 1] = '/';
	for (int k = c; k < j - 1; k++)
		line[2 * k + 1] = '_';
	print_line(line, 2 * *ncols);
	free(line);
	memmove(&cols[j], &cols[j + 1], sizeof(int) * (*ncols - j - 1));
	(*ncols)--;
}

/*
 * After revision r in column c: its first parent takes the column, each
 * other parent a new column to its right ("|\"), and a root's column goes,
 * the columns right of it moving left ("/").
 */
static void
draw_parents(const GraphRev *r, int *cols, int *ncols, int c)
{
	char	   *line = pg_malloc(2 * (*ncols + r->nparents) + 1);

	if (r->nparents == 0)
	{
		memset(line, ' ', 2 * *ncols);
		for (int k = 0; k < *ncols; k++)
			if (k < c)
				line[2 * k] = '|';
			else if (k > c)
				line[2 * k - 1] = '/';
		memmove(&cols[c], &cols[c + 1], sizeof(int) * (*ncols - c - 1));
		(*ncols)--;
		if (c < *ncols)
			print_line(line, 2 * (*ncols + 1));
		free(line);
		return;
	}
	cols[c] = r->parents[0];
	for (int e = 1; e < r->nparents; e++)
	{
		int			q = c + e;

		memset(line, ' ', 2 * (*ncols + 1));
		for (int k = 0; k < *ncols; k++)
			line[k < q ? 2 * k : 2 * k + 1] = (k < q ? '|' : '\\');
		line[2 * q - 1] = '\\';
		print_line(line, 2 * (*ncols + 1));
		memmove(&cols[q + 1], &cols[q], sizeof(int) * (*ncols - q));
		cols[q] = r->parents[e];
		(*ncols)++;
	}
	free(line);
}

/* Prints "* id (labels) message  [depends on: x]" after the columns. */
static void
draw_revision(const GraphRev *r, int ncols, int c)
{
	for (int k = 0; k < ncols; k++)
		printf("%c ", k == c ? '*' : '|');
	printf("%s", r->id);
	if (r->labels[0] != '\0')
		printf(" (%s)", r->labels);
	if (r->message[0] != '\0')
		printf(" %s", r->message);
	if (r->depends[0] != '\0')
		printf("  [depends on: %s]", r->depends);
	printf("\n");
}

/* The text drawing: columns of expected revisions, as git keeps them. */
static void
graph_text(const Graph *g)
{
	int			edges = 0;
	int		   *cols;
	int			ncols = 0;

	for (int i = 0; i < g->n; i++)
		edges += g->revs[g->order[i]].nparents;
	cols = pg_malloc(sizeof(int) * (g->n + edges + 1));	/* a column per head or edge */

	for (int i = 0; i < g->n; i++)
	{
		int			v = g->order[i];
		const GraphRev *r = &g->revs[v];
		int			c = -1;

		for (int k = 0; k < ncols; k++)
			if (cols[k] == v)
			{
				if (c < 0)
					c = k;
				else
				{
					draw_collapse(cols, &ncols, c, k);
					k = c;		/* look again right of c */
				}
			}
		if (c < 0)
			cols[c = ncols++] = v;
		draw_revision(r, ncols, c);
		draw_parents(r, cols, &ncols, c);
	}
	free(cols);
}

/*
 * Prints text for a quoted label: dot escapes '"' and '\'; Mermaid takes
 * entity codes for '"', '#', '<' and '>'.  Control characters become blanks.
 */
static void
print_quoted(const char *s, bool mermaid)
{
	for (; *s != '\0'; s++)
	{
		if ((unsigned char) *s < ' ')
			putchar(' ');
		else if (!mermaid && (*s == '"' || *s == '\\'))
			printf("\\%c", *s);
		else if (mermaid && strchr("\"#<>", *s) != NULL)
			printf("#%d;", *s);
		else
			putchar(*s);
	}
}

/* A node's label: id, (labels), and the message on a second line. */
static void
print_node_label(const GraphRev *r, bool mermaid)
{
	print_quoted(r->id, mermaid);
	if (r->labels[0] != '\0')
	{
		printf(" (");
		print_quoted(r->labels, mermaid);
		printf(")");
	}
	if (r->message[0] != '\0')
	{
		printf(mermaid ? "<br>" : "\\n");
		print_quoted(r->message, mermaid);
	}
}

/*
 * Graphviz or Mermaid: a node per revision, newest first, an edge from each
 * revision to each parent, a dashed one to each revision it depends on.
 */
static void
graph_nodes_edges(const Graph *g, bool mermaid)
{
	int		   *pos = pg_malloc(sizeof(int) * (g->n + 1));

	for (int i = 0; i < g->n; i++)
		pos[g->order[i]] = i;
	printf(mermaid ? "flowchart TB\n" : "digraph migrate {\n\tnode [shape=box];\n");
	for (int i = 0; i < g->n; i++)
	{
		const GraphRev *r = &g->revs[g->order[i]];

		if (mermaid)
			printf("    n%d[\"", i);
		else
			printf("\t\"%s\" [label=\"", r->id);
		print_node_label(r, mermaid);
		printf(mermaid ? "\"]\n" : "\"];\n");
	}
	for (int i = 0; i < g->n; i++)
	{
		const GraphRev *r = &g->revs[g->order[i]];

		for (int j = 0; j < r->nparents; j++)
			if (mermaid)
				printf("    n%d --> n%d\n", i, pos[r->parents[j]]);
			else
				printf("\t\"%s\" -> \"%s\";\n", r->id, g->revs[r->parents[j]].id);
		for (int j = 0; j < r->ndepends_on; j++)
			if (mermaid)
				printf("    n%d -.-> n%d\n", i, pos[r->depends_on[j]]);
			else
				printf("\t\"%s\" -> \"%s\" [style=dashed];\n", r->id, g->revs[r->depends_on[j]].id);
	}
	if (!mermaid)
		printf("}\n");
	free(pos);
}

/* graph [--format text|dot|mermaid]: the revision graph. */
int
cmd_graph(PGconn *conn, const Options *opts)
{
	const char *format = opts->format ? opts->format : "text";
	Graph		g;

	if (strcmp(format, "text") != 0 && strcmp(format, "dot") != 0 &&
		strcmp(format, "mermaid") != 0)
	{
		pg_log_error("unknown graph format \"%s\": text, dot or mermaid", format);
		return 1;
	}
	graph_read(conn, &g);
	graph_order(&g);
	if (strcmp(format, "text") == 0)
		graph_text(&g);
	else
		graph_nodes_edges(&g, strcmp(format, "mermaid") == 0);
	return 0;
}
