/*
 * diffsql.c
 *		The statements of the schema diff: an object's alterations in place
 *		(a column's type, default, NOT NULL and identity, a table's settings,
 *		an enum's new labels), its comment and its privileges, and the names
 *		of the to schema mapped to the from schema's.
 */
#include "migrate.h"

#include "utils/builtins.h"

/* Whether c may continue an unquoted identifier. */
static bool
ident_char(char c)
{
	return isalnum((unsigned char) c) || c == '_' || c == '$' || IS_HIGHBIT_SET(c);
}

/* Whether p, in text, starts an element 'to_q' of a function's "SET search_path TO" line. */
static bool
search_path_element(const char *text, const char *p, const char *to_q, size_t len)
{
	const char *line;

	if (p == text || p[-1] != '\'' || strncmp(p, to_q, len) != 0 || p[len] != '\'')
		return false;
	for (line = p; line > text && line[-1] != '\n'; line--)
		;
	return strncmp(line, " SET search_path TO ", 20) == 0;
}

/*
 * text with every "to_q." that starts a name replaced by "from_q.": the to
 * schema's objects named as the from schema's.  Literals are mapped too
 * (nextval('s.seq'::regclass) names a sequence), and the schema itself in
 * a function's SET search_path.
 */
char *
diffsql_map_schema(const char *text, const char *from_q, const char *to_q)
{
	StringInfoData buf;
	size_t		len = strlen(to_q);
	const char *p = text;

	if (strcmp(from_q, to_q) == 0 || strstr(text, to_q) == NULL)
		return (char *) text;
	initStringInfo(&buf);
	while (*p)
	{
		if ((strncmp(p, to_q, len) == 0 && p[len] == '.' &&
			 (p == text || (!ident_char(p[-1]) && p[-1] != '"' && p[-1] != '.'))) ||
			search_path_element(text, p, to_q, len))
		{
			appendStringInfoString(&buf, from_q);
			p += len;
			continue;
		}
		appendStringInfoChar(&buf, *p++);
	}
	return buf.data;
}

/* The fields of an object's attrs. */
char **
diffsql_fields(const char *attrs, int *n)
{
	char	   *copy = pstrdup(attrs);
	char	  **fields;
	int			count = 1;

	for (const char *p = copy; *p; p++)
		if (*p == DIFF_FIELD_SEP)
			count++;
	fields = palloc(sizeof(char *) * count);
	*n = 0;
	fields[(*n)++] = copy;
	for (char *p = copy; *p; p++)
		if (*p == DIFF_FIELD_SEP)
		{
			*p = '\0';
			fields[(*n)++] = p + 1;
		}
	return fields;
}

/* The statements of a create, in order. */
List *
diffsql_split(const char *create)
{
	List	   *stmts = NIL;
	char	   *copy = pstrdup(create);
	char	   *start = copy;

	for (char *p = copy;; p++)
	{
		if (*p == DIFF_STMT_SEP || *p == '\0')
		{
			bool		end = (*p == '\0');

			*p = '\0';
			if (*start)
				stmts = lappend(stmts, start);
			if (end)
				break;
			start = p + 1;
		}
	}
	return stmts;
}

/* Each field that differs: the to side's statement for it (sequences, triggers, functions, domains). */
List *
diffsql_generic_alter(DiffObject *f, DiffObject *t)
{
	int			nf,
				nt;
	char	  **ff = diffsql_fields(f->attrs, &nf);
	char	  **tf = diffsql_fields(t->attrs, &nt);
	List	   *stmts = NIL;

	for (int i = 0; i < nt; i++)
		if ((i >= nf || strcmp(ff[i], tf[i]) != 0) && tf[i][0] != '\0')
			stmts = lappend(stmts, pstrdup(tf[i]));
	return stmts;
}

/* The keys of a "k=v, k2=v2" option list, comma-separated. */
static char *
option_keys(const char *opts)
{
	StringInfoData buf;
	bool		in_key = true;

	initStringInfo(&buf);
	for (const char *p = opts; *p; p++)
	{
		if (*p == '=')
			in_key = false;
		else if (*p == ',')
		{
			appendStringInfoString(&buf, ", ");
			in_key = true;
			while (p[1] == ' ')
				p++;
		}
		else if (in_key)
			appendStringInfoChar(&buf, *p);
	}
	return buf.data;
}

/* A table's persistence, row level security and storage options, as they differ. */
List *
diffsql_table_alter(DiffObject *f, DiffObject *t)
{
	int			nf,
				nt;
	char	  **ff = diffsql_fields(f->attrs, &nf);
	char	  **tf = diffsql_fields(t->attrs, &nt);
	List	   *stmts = NIL;

	for (int i = 0; i < 3 && i < nf && i < nt; i++)
		if (strcmp(ff[i], tf[i]) != 0)
			stmts = lappend(stmts, pstrdup(tf[i]));
	if (nf > 3 && nt > 3 && strcmp(ff[3], tf[3]) != 0)
	{
		if (ff[3][0] != '\0')
			stmts = lappend(stmts, psprintf("ALTER TABLE %s RESET (%s);", t->identity,
											option_keys(ff[3])));
		if (tf[3][0] != '\0')
			stmts = lappend(stmts, psprintf("ALTER TABLE %s SET (%s);", t->identity, tf[3]));
	}
	return stmts;
}

/* Whether a column's type change from a to b keeps every value as it is. */
static bool
type_widens(const char *a, const char *b)
{
	static const char *const widenings[][2] = {
		{"smallint", "integer"}, {"smallint", "bigint"}, {"integer", "bigint"},
		{"smallint", "numeric"}, {"integer", "numeric"}, {"bigint", "numeric"},
		{"real", "double precision"}, {"character varying", "text"},
		{"text", "character varying"}, {"character", "text"}, {"character", "character varying"}
	};
	int			la,
				lb;

	for (int i = 0; i < (int) lengthof(widenings); i++)
		if (strcmp(a, widenings[i][0]) == 0 && strcmp(b, widenings[i][1]) == 0)
			return true;
	/* a length limit raised or removed: varchar(n), numeric(p,s) of the same scale */
	if (sscanf(a, "character varying(%d)", &la) == 1)
		return strcmp(b, "text") == 0 || strcmp(b, "character varying") == 0 ||
			(sscanf(b, "character varying(%d)", &lb) == 1 && lb >= la);
	if (sscanf(a, "character(%d)", &la) == 1)
		return strcmp(b, "text") == 0 || strcmp(b, "character varying") == 0 ||
			(sscanf(b, "character varying(%d)", &lb) == 1 && lb >= la);
	if (strncmp(a, "numeric(", 8) == 0 && strncmp(b, "numeric(", 8) == 0)
	{
		int			sa = 0,
					sb = 0;

		if (sscanf(a, "numeric(%d,%d)", &la, &sa) >= 1 && sscanf(b, "numeric(%d,%d)", &lb, &sb) >= 1)
			return sa == sb && lb >= la;
	}
	if (strncmp(a, "numeric(", 8) == 0 && strcmp(b, "numeric") == 0)
		return true;
	return strcmp(b, "text") == 0 && strcmp(a, "bytea") != 0;
}

/* An identity's sequence options as ALTER COLUMN's SET clauses. */
static char *
identity_options(const char *opts)
{
	static const char *const words[] = {
		"INCREMENT BY ", " MINVALUE ", " MAXVALUE ", " START WITH ", " CACHE ", " CYCLE", " NO CYCLE"
	};
	StringInfoData buf;

	initStringInfo(&buf);
	for (const char *p = opts; *p;)
	{
		int			k;

		for (k = 0; k < (int) lengthof(words); k++)
			if (strncmp(p, words[k], strlen(words[k])) == 0)
				break;
		if (k < (int) lengthof(words))
		{
			appendStringInfo(&buf, "%sSET %s", buf.len > 0 ? " " : "",
							 words[k] + (words[k][0] == ' ' ? 1 : 0));
			p += strlen(words[k]);
			continue;
		}
		appendStringInfoChar(&buf, *p++);
	}
	return buf.data;
}

/* One ALTER TABLE ... ALTER COLUMN statement. */
static char *
alter_column(DiffObject *t, const char *column, const char *action)
{
	return psprintf("ALTER TABLE %s ALTER COLUMN %s %s;", t->parent, column, action);
}

/*
 * A column's alterations: identity dropped, type, default, NOT NULL,
 * identity added or changed.  fields: type, default, not null, identity,
 * name, collation, identity sequence options.  force_retype: its type is replaced by one of the same
 * name (an enum), converted through text; drop_default: its default was
 * dropped before.  *narrows: the type change may lose or refuse values.
 */
List *
diffsql_column_alter(DiffObject *f, DiffObject *t, bool force_retype, bool drop_default,
					 bool *narrows, char **reason)
{
	int			nf,
				nt;
	char	  **ff = diffsql_fields(f->attrs, &nf);
	char	  **tf = diffsql_fields(t->attrs, &nt);
	const char *col = tf[4];
	bool		retype = force_retype || strcmp(ff[0], tf[0]) != 0 || strcmp(ff[5], tf[5]) != 0;
	List	   *stmts = NIL;

	*narrows = false;
	if (drop_default)
		ff[1] = "";
	if (ff[3][0] != '\0' && tf[3][0] == '\0')
		stmts = lappend(stmts, alter_column(t, col, "DROP IDENTITY"));
	if (retype)
	{
		if (ff[1][0] != '\0')
			stmts = lappend(stmts, alter_column(t, col, "DROP DEFAULT"));
		stmts = lappend(stmts, alter_column(t, col, psprintf("TYPE %s%s USING %s::%s%s", tf[0], tf[5],
															 col, force_retype ? "text::" : "",
															 tf[0])));
		*narrows = strcmp(ff[0], tf[0]) != 0 && !type_widens(ff[0], tf[0]);
		if (*narrows)
			*reason = psprintf("from %s to %s", ff[0], tf[0]);
	}
	if (strcmp(ff[1], tf[1]) != 0 || (retype && ff[1][0] != '\0'))
	{
		if (tf[1][0] != '\0')
			stmts = lappend(stmts, alter_column(t, col, psprintf("SET DEFAULT %s", tf[1])));
		else if (!retype)
			stmts = lappend(stmts, alter_column(t, col, "DROP DEFAULT"));
	}
	if (strcmp(ff[2], tf[2]) != 0)
		stmts = lappend(stmts, alter_column(t, col, tf[2][0] == 't' ? "SET NOT NULL" : "DROP NOT NULL"));
	if (tf[3][0] != '\0' && ff[3][0] == '\0')
		stmts = lappend(stmts, alter_column(t, col,
											psprintf("ADD GENERATED %s AS IDENTITY (%s)",
													 tf[3][0] == 'a' ? "ALWAYS" : "BY DEFAULT", tf[6])));
	else if (tf[3][0] != '\0' && strcmp(ff[3], tf[3]) != 0)
		stmts = lappend(stmts, alter_column(t, col, psprintf("SET GENERATED %s",
															 tf[3][0] == 'a' ? "ALWAYS" : "BY DEFAULT")));
	if (tf[3][0] != '\0' && ff[3][0] != '\0' && strcmp(ff[6], tf[6]) != 0)
		stmts = lappend(stmts, alter_column(t, col, identity_options(tf[6])));
	return stmts;
}

/* The labels of an enum, as the quoted literals of its attrs. */
static List *
enum_labels(const char *attrs)
{
	List	   *labels = NIL;
	const char *p = attrs;

	while (*p)
	{
		StringInfoData buf;

		while (*p == ',' || *p == ' ')
			p++;
		if (*p != '\'')
			break;
		initStringInfo(&buf);
		appendStringInfoChar(&buf, *p++);
		while (*p)
		{
			if (*p == '\'' && p[1] == '\'')
			{
				appendBinaryStringInfo(&buf, p, 2);
				p += 2;
				continue;
			}
			appendStringInfoChar(&buf, *p);
			if (*p++ == '\'')
				break;
		}
		labels = lappend(labels, buf.data);
	}
	return labels;
}

/* Whether a list of strings holds s. */
static bool
list_has_string(List *l, const char *s)
{
	ListCell   *lc;

	foreach(lc, l)
		if (strcmp(lfirst(lc), s) == 0)
		return true;
	return false;
}

/*
 * Whether object d's statements (its create, its attributes: a default)
 * name a label that enum t has and f has not.
 */
bool
diffsql_uses_new_label(DiffObject *f, DiffObject *t, DiffObject *d)
{
	List	   *old = enum_labels(f->attrs);
	ListCell   *lc;

	foreach(lc, enum_labels(t->attrs))
	{
		char	   *label = lfirst(lc);

		if (!list_has_string(old, label) &&
			(strstr(d->create, label) != NULL || strstr(d->attrs, label) != NULL))
			return true;
	}
	return false;
}

/*
 * An enum's new labels, each added in its place; NIL when the change is not
 * only additions (a label removed or moved: the type is created again).
 */
List *
diffsql_enum_alter(DiffObject *f, DiffObject *t)
{
	List	   *old = enum_labels(f->attrs);
	List	   *new = enum_labels(t->attrs);
	List	   *stmts = NIL;
	int			j = 0;

	/* the old labels must be the new ones' subsequence, in order */
	for (int i = 0; i < list_length(new) && j < list_length(old); i++)
		if (strcmp(list_nth(new, i), list_nth(old, j)) == 0)
			j++;
	if (j < list_length(old))
		return NIL;
	for (int i = 0; i < list_length(new); i++)
	{
		char	   *label = list_nth(new, i);

		if (list_has_string(old, label))
			continue;
		if (i > 0)
			stmts = lappend(stmts, psprintf("ALTER TYPE %s ADD VALUE %s AFTER %s;", t->identity,
											label, (char *) list_nth(new, i - 1)));
		else if (old != NIL)
			stmts = lappend(stmts, psprintf("ALTER TYPE %s ADD VALUE %s BEFORE %s;", t->identity,
											label, (char *) linitial(old)));
		else
			stmts = lappend(stmts, psprintf("ALTER TYPE %s ADD VALUE %s;", t->identity, label));
	}
	return stmts;
}

/* One grantee's privileges in an ACL: letters, and those held with grant option. */
typedef struct Grant
{
	char	   *grantee;		/* unquoted; "" for PUBLIC */
	char		privs[32];
	char		options[32];
} Grant;

/* Adds a privilege letter to a set, once. */
static void
add_letter(char *set, char c)
{
	if (strchr(set, c) == NULL && strlen(set) < 31)
	{
		size_t		n = strlen(set);

		set[n] = c;
		set[n + 1] = '\0';
	}
}

/* The grantees of an ACL ("a=rw/o,..."), their privileges merged across grantors. */
static List *
parse_acl(const char *acl)
{
	List	   *grants = NIL;
	const char *p = acl;

	while (p && *p)
	{
		StringInfoData name;
		Grant	   *g = NULL;
		ListCell   *lc;

		initStringInfo(&name);
		while (*p && *p != '=')
		{
			if (*p == '"')
			{
				for (p++; *p && !(*p == '"' && p[1] != '"'); p++)
				{
					if (*p == '"')
						p++;
					appendStringInfoChar(&name, *p);
				}
				if (*p)
					p++;
				continue;
			}
			appendStringInfoChar(&name, *p++);
		}
		foreach(lc, grants)
			if (strcmp(((Grant *) lfirst(lc))->grantee, name.data) == 0)
			g = lfirst(lc);
		if (g == NULL)
		{
			g = palloc0(sizeof(Grant));
			g->grantee = name.data;
			grants = lappend(grants, g);
		}
		if (*p == '=')
			p++;
		for (; *p && *p != '/'; p++)
		{
			if (*p == '*')
				add_letter(g->options, p[-1]);
			else
				add_letter(g->privs, *p);
		}
		while (*p && *p != ',')
			p++;
		if (*p == ',')
			p++;
	}
	return grants;
}

/* The privilege a letter of an ACL stands for. */
static const char *
privilege_name(char c)
{
	switch (c)
	{
		case 'r':
			return "SELECT";
		case 'w':
			return "UPDATE";
		case 'a':
			return "INSERT";
		case 'd':
			return "DELETE";
		case 'D':
			return "TRUNCATE";
		case 'x':
			return "REFERENCES";
		case 't':
			return "TRIGGER";
		case 'X':
			return "EXECUTE";
		case 'U':
			return "USAGE";
		case 'C':
			return "CREATE";
		case 'c':
			return "CONNECT";
		case 'T':
			return "TEMPORARY";
		case 'm':
			return "MAINTAIN";
	}
	return NULL;
}

/* The privileges of a set of letters in a fixed order, each with the column when given. */
static char *
privilege_list(const char *letters, const char *column)
{
	static const char order[] = "arwdDxtmXUCcT";
	StringInfoData buf;

	initStringInfo(&buf);
	for (const char *o = order; *o; o++)
		if (strchr(letters, *o) && privilege_name(*o))
		{
			if (buf.len > 0)
				appendStringInfoString(&buf, ", ");
			appendStringInfoString(&buf, privilege_name(*o));
			if (column)
				appendStringInfo(&buf, " (%s)", column);
		}
	return buf.data;
}

/* The grants of a grantee in a list, or NULL. */
static Grant *
find_grant(List *grants, const char *grantee)
{
	ListCell   *lc;

	foreach(lc, grants)
		if (strcmp(((Grant *) lfirst(lc))->grantee, grantee) == 0)
		return lfirst(lc);
	return NULL;
}

/* Whether two sets of letters are equal. */
static bool
same_letters(const char *a, const char *b)
{
	if (strlen(a) != strlen(b))
		return false;
	for (; *a; a++)
		if (strchr(b, *a) == NULL)
			return false;
	return true;
}

/* Orders grantee names in byte order. */
static int
grantee_cmp(const ListCell *a, const ListCell *b)
{
	return strcmp(lfirst(a), lfirst(b));
}

/*
 * REVOKE and GRANT statements turning ACL from into ACL to on a target;
 * from_owner's privileges are to_owner's by then.
 */
static List *
acl_statements(const char *from, const char *to, const char *target, const char *column,
			   const char *from_owner, const char *to_owner)
{
	List	   *fg = parse_acl(from);
	List	   *tg = parse_acl(to);
	List	   *names = NIL;
	List	   *stmts = NIL;
	ListCell   *lc;

	if (from_owner && to_owner && strcmp(from_owner, to_owner) != 0)
		foreach(lc, fg)
			if (strcmp(((Grant *) lfirst(lc))->grantee, from_owner) == 0)
			((Grant *) lfirst(lc))->grantee = pstrdup(to_owner);
	foreach(lc, fg)
		names = lappend(names, ((Grant *) lfirst(lc))->grantee);
	foreach(lc, tg)
		if (find_grant(fg, ((Grant *) lfirst(lc))->grantee) == NULL)
		names = lappend(names, ((Grant *) lfirst(lc))->grantee);
	list_sort(names, grantee_cmp);
	foreach(lc, names)
	{
		Grant	   *a = find_grant(fg, lfirst(lc));
		Grant	   *b = find_grant(tg, lfirst(lc));
		const char *who = ((char *) lfirst(lc))[0] ? quote_identifier(lfirst(lc)) : "PUBLIC";

		if (a && b && same_letters(a->privs, b->privs) && same_letters(a->options, b->options))
			continue;
		if (a && a->privs[0])
			stmts = lappend(stmts, psprintf("REVOKE ALL%s ON %s FROM %s;",
											column ? psprintf(" (%s)", column) : "", target, who));
		if (b && b->privs[0])
		{
			char		plain[32] = "";

			/* those held with grant option are granted with it, below */
			for (const char *c = b->privs; *c; c++)
				if (strchr(b->options, *c) == NULL)
					add_letter(plain, *c);
			if (plain[0])
				stmts = lappend(stmts, psprintf("GRANT %s ON %s TO %s;", privilege_list(plain, column),
												target, who));
		}
		if (b && b->options[0])
			stmts = lappend(stmts, psprintf("GRANT %s ON %s TO %s WITH GRANT OPTION;",
											privilege_list(b->options, column), target, who));
	}
	return stmts;
}

/*
 * The comment and privilege statements that give t its comment and ACL:
 * from f's, or, when f is NULL (t is created), from none and the default ACL.
 */
List *
diffsql_annotations(DiffObject *f, DiffObject *t)
{
	List	   *stmts = NIL;
	const char *old_comment = f ? f->comment : NULL;
	/* a new object belongs to whoever runs the statements */
	const char *old_owner = f ? f->owner : NULL;

	if (t->comment_target != NULL &&
		((old_comment == NULL) != (t->comment == NULL) ||
		 (old_comment && t->comment && strcmp(old_comment, t->comment) != 0)))
		stmts = lappend(stmts, psprintf("COMMENT ON %s IS %s;", t->comment_target,
										t->comment ? quote_literal_cstr(t->comment) : "NULL"));
	/* a new owner takes the old one's privileges over */
	if (t->owner != NULL && old_owner != NULL && strcmp(old_owner, t->owner) != 0)
		stmts = lappend(stmts, psprintf("ALTER %s OWNER TO %s;", t->comment_target,
										quote_identifier(t->owner)));
	if (t->acl != NULL)
	{
		const char *old_acl = f ? f->acl : t->acl_default;

		if (old_acl != NULL && strcmp(old_acl, t->acl) != 0)
			stmts = list_concat(stmts, acl_statements(old_acl, t->acl, t->grant_target,
													  t->grant_column, f ? f->owner : NULL,
													  t->owner));
	}
	return stmts;
}

/* The quoted name that starts a composite type's attribute "name type". */
static char *
attribute_name(const char *item)
{
	const char *p = item;

	if (*p == '"')
	{
		for (p++; *p; p++)
			if (*p == '"' && *++p != '"')
				break;
	}
	else
		while (*p && *p != ' ')
			p++;
	return pnstrdup(item, p - item);
}

/* The index of the attribute of that name in items, or -1. */
static int
attribute_index(char **items, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (strcmp(attribute_name(items[i]), name) == 0)
			return i;
	return -1;
}

/*
 * A composite type's attributes dropped and added in place; *recreate when
 * that cannot give the to side (an attribute's type changed, or the kept
 * ones in another order, or a new one before a kept one).  *dropped: how
 * many attributes go.
 */
List *
diffsql_composite_alter(DiffObject *f, DiffObject *t, bool *recreate, int *dropped)
{
	int			nf,
				nt;
	char	  **ff = diffsql_fields(f->attrs, &nf);
	char	  **tf = diffsql_fields(t->attrs, &nt);
	List	   *stmts = NIL;
	int			last = -1;
	bool		added = false;

	*recreate = false;
	*dropped = 0;
	for (int i = 0; i < nt; i++)
	{
		int			j = attribute_index(ff, nf, attribute_name(tf[i]));

		if (tf[i][0] == '\0')
			continue;
		if (j < 0)
		{
			added = true;
			stmts = lappend(stmts, psprintf("ALTER TYPE %s ADD ATTRIBUTE %s;", t->identity, tf[i]));
			continue;
		}
		if (strcmp(ff[j], tf[i]) != 0 || j < last || added)
			*recreate = true;
		last = j;
	}
	for (int j = nf - 1; j >= 0; j--)
		if (attribute_index(tf, nt, attribute_name(ff[j])) < 0 && ff[j][0] != '\0')
		{
			(*dropped)++;
			stmts = lcons(psprintf("ALTER TYPE %s DROP ATTRIBUTE %s;", t->identity,
								   attribute_name(ff[j])), stmts);
		}
	return *recreate ? NIL : stmts;
}
