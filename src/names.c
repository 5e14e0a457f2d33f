/*
 * names.c
 *		What a revision id or branch label may be (SPEC section 1), and lists
 *		of them: their length limit, their elements and their duplicates.
 */
#include "migrate.h"

#include "miscadmin.h"

/* Target keywords, which no id or label may take. */
static const char *const reserved_names[] = {"head", "heads", "base", "current"};

/* Whether c may appear in a revision id or branch label. */
bool
is_name_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		(c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

/* Whether name is a target keyword that no id or label may take. */
static bool
is_reserved_name(const char *name)
{
	for (size_t i = 0; i < lengthof(reserved_names); i++)
		if (strcmp(name, reserved_names[i]) == 0)
			return true;
	return false;
}

/* The primary message of validate_name() for an invalid name of this kind. */
static int
errmsg_invalid_name(NameKind kind, const char *name)
{
	switch (kind)
	{
		case NAME_REVISION_ID:
			return errmsg("invalid revision id \"%s\"", name);
		case NAME_BRANCH_LABEL:
			return errmsg("invalid branch label \"%s\"", name);
		case NAME_REVISION:
			break;
	}
	return errmsg("invalid revision \"%s\"", name);
}

/* The primary message of validate_name() for a name too long to quote. */
static int
errmsg_name_too_long(NameKind kind)
{
	switch (kind)
	{
		case NAME_REVISION_ID:
			return errmsg("revision id is too long");
		case NAME_BRANCH_LABEL:
			return errmsg("branch label is too long");
		case NAME_REVISION:
			break;
	}
	return errmsg("revision name is too long");
}

/* Checks a revision id, a branch label or a reference to one (SPEC section 1). */
void
validate_name(const char *name, NameKind kind)
{
	size_t		len = strlen(name);

	if (len == 0 || len > MIGRATE_ID_MAXLEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 len == 0 ? errmsg_invalid_name(kind, name) : errmsg_name_too_long(kind),
				 errdetail_plural("Revision ids and branch labels have between 1 and %d character.",
								  "Revision ids and branch labels have between 1 and %d characters.",
								  MIGRATE_ID_MAXLEN, MIGRATE_ID_MAXLEN)));
	for (size_t i = 0; i < len; i++)
		if (!is_name_char(name[i]))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg_invalid_name(kind, name),
					 errdetail("Revision ids and branch labels may contain only letters A-Z and a-z, digits, \"_\", \".\" and \"-\".")));
	/* "-1" reads as a relative target */
	if (name[0] == '.' || name[0] == '-')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg_invalid_name(kind, name),
				 errdetail("Revision ids and branch labels may not start with \"%c\".", name[0])));
	if (is_reserved_name(name))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg_invalid_name(kind, name),
				 errdetail("\"%s\" is a reserved target name.", name)));
}

/*
 * Refuses a list of more than MIGRATE_MAX_LIST_NAMES names; callers check
 * before any work on the names.  hint, already translated, may be NULL.
 */
void
check_list_length(const char *listname, int n, const char *hint)
{
	if (n > MIGRATE_MAX_LIST_NAMES)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg_plural("%s lists %d name", "%s lists %d names", n, listname, n),
				 errdetail_plural("At most %d name is allowed.", "At most %d names are allowed.",
								  MIGRATE_MAX_LIST_NAMES, MIGRATE_MAX_LIST_NAMES),
				 hint ? errhint("%s", hint) : 0));
}

/* The names of a text[] argument, once its length is known to be allowed. */
char **
list_names(ArrayType *arr, const char *listname, int *n)
{
	check_list_length(listname, ArrayGetNItems(ARR_NDIM(arr), ARR_DIMS(arr)), NULL);
	return array_to_strings(arr, listname, n);
}

/* A name and its position in its list, for finding repeated names. */
typedef struct ListedName
{
	const char *name;
	int			pos;
} ListedName;

/* Orders listed names by name, then position: finds the first duplicate. */
static int
compare_listed_names(const void *a, const void *b)
{
	const ListedName *x = (const ListedName *) a;
	const ListedName *y = (const ListedName *) b;
	int			cmp = strcmp(x->name, y->name);

	if (cmp != 0)
		return cmp;
	return (x->pos > y->pos) - (x->pos < y->pos);
}

/*
 * The position of the first name that repeats an earlier one, or -1, in
 * O(n log n): sorted by name and position, a repetition is the second of two
 * equal neighbours.  Names too long to be valid are left out, so no
 * comparison reads more than MIGRATE_ID_MAXLEN + 1 bytes; their validation
 * fails before any repetition of them could be reported.
 */
static int
first_repeated_name(char **names, int n)
{
	ListedName *sorted = palloc(sizeof(ListedName) * Max(n, 1));
	int			nsorted = 0;
	int			first = -1;

	for (int i = 0; i < n; i++)
	{
		CHECK_FOR_INTERRUPTS();
		if (strnlen(names[i], MIGRATE_ID_MAXLEN + 1) > MIGRATE_ID_MAXLEN)
			continue;
		sorted[nsorted].name = names[i];
		sorted[nsorted].pos = i;
		nsorted++;
	}
	qsort(sorted, nsorted, sizeof(ListedName), compare_listed_names);
	for (int i = 1; i < nsorted; i++)
	{
		CHECK_FOR_INTERRUPTS();
		if (strcmp(sorted[i].name, sorted[i - 1].name) == 0 &&
			(first < 0 || sorted[i].pos < first))
			first = sorted[i].pos;
	}
	pfree(sorted);
	return first;
}

/*
 * Validates each name in order and refuses duplicates within the list: the
 * first name that repeats an earlier one, once the names before it are valid.
 */
void
validate_name_list(char **names, int n, NameKind kind, const char *listname)
{
	int			repeated = first_repeated_name(names, n);

	for (int i = 0; i < n; i++)
	{
		CHECK_FOR_INTERRUPTS();
		validate_name(names[i], kind);
		if (i == repeated)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s lists \"%s\" twice", listname, names[i])));
	}
}
