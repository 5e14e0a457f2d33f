/*
 * datum.c
 *		Between C values and SQL datums: function arguments, text[] as
 *		lists of names, intervals, and names quoted for a message.
 */
#include "migrate.h"

#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

/* A text argument that must not be NULL (22023 naming it). */
char *
required_text_arg(FunctionCallInfo fcinfo, int argno, const char *what)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must not be null", what)));
	return text_to_cstring(PG_GETARG_TEXT_PP(argno));
}

/* A text argument as a C string, or NULL. */
char *
text_arg_or_null(FunctionCallInfo fcinfo, int argno)
{
	return PG_ARGISNULL(argno) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(argno));
}

/* The target argument, which must not be NULL. */
char *
target_argument(FunctionCallInfo fcinfo, int argno)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("target must not be null"),
				 errhint("Use 'head' for the latest revision or 'base' for nothing applied.")));
	return text_to_cstring(PG_GETARG_TEXT_PP(argno));
}

/* A text[] from C strings. */
ArrayType *
strings_to_array(char **elems, int n)
{
	size_t		size = ARR_OVERHEAD_NONULLS(1);
	ArrayType  *arr;
	char	   *p;

	if (n == 0)
		return construct_empty_array(TEXTOID);
	/* the bytes construct_array() makes of text datums, without making them first */
	for (int i = 0; i < n; i++)
		size += INTALIGN(VARHDRSZ + strlen(elems[i]));
	arr = palloc0(size);
	SET_VARSIZE(arr, size);
	arr->ndim = 1;
	arr->dataoffset = 0;
	arr->elemtype = TEXTOID;
	ARR_DIMS(arr)[0] = n;
	ARR_LBOUND(arr)[0] = 1;
	p = ARR_DATA_PTR(arr);
	for (int i = 0; i < n; i++)
	{
		size_t		len = strlen(elems[i]);

		SET_VARSIZE(p, VARHDRSZ + len);
		memcpy(VARDATA(p), elems[i], len);
		p += INTALIGN(VARHDRSZ + len);
	}
	return arr;
}

/*
 * Why a text[] is not a list of names (multi-dimensional, or with NULL
 * elements), or NULL when it is one.  migrate.verify() reports what
 * array_to_strings() would refuse.
 */
const char *
array_malformed(ArrayType *arr)
{
	if (ARR_NDIM(arr) > 1)
		return "is not a one-dimensional array";
	if (array_contains_nulls(arr))
		return "contains null elements";
	return NULL;
}

/*
 * C strings from a text[]; NULL elements and multi-dimensional arrays are
 * refused, as no caller can mean them.
 */
char **
array_to_strings(ArrayType *arr, const char *what, int *n)
{
	Datum	   *datums;
	bool	   *nulls;
	char	  **result;

	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a one-dimensional array", what)));
	if (array_contains_nulls(arr))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must not contain null elements", what)));
	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &datums, &nulls, n);
	result = palloc(sizeof(char *) * Max(*n, 1));
	for (int i = 0; i < *n; i++)
	{
		CHECK_FOR_INTERRUPTS();
		result[i] = TextDatumGetCString(datums[i]);
	}
	return result;
}

/* An interval of us microseconds. */
Datum
interval_from_us(int64 us)
{
	Interval   *iv = palloc0(sizeof(Interval));

	iv->time = us;
	return IntervalPGetDatum(iv);
}

/*
 * Names quoted and joined for a message, at most limit of them:
 * "a", "b", "c" and 4 more (total is how many there are in all).
 */
char *
quoted_names(char **names, int n, int total, int limit)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int i = 0; i < n && i < limit; i++)
		appendStringInfo(&buf, "%s\"%s\"", i > 0 ? ", " : "", names[i]);
	/* a plural form, as some languages inflect "more" by the count */
	if (total > limit)
		appendStringInfo(&buf, ngettext(" and %d more", " and %d more", total - limit),
						 total - limit);
	return buf.data;
}
