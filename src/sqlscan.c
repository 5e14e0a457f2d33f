/*
 * sqlscan.c
 *		Revision SQL as the server's own scanner reads it.
 *
 * Where each token starts and ends, where each statement's first token is
 * and which lines of a migration file are markers are all found by the core
 * scanner that raw_parser() runs (parser/scanner.h), as pg_stat_statements
 * finds its constants, and always with standard_conforming_strings on, as
 * revision SQL is checked and run.  What lies between two tokens is
 * whitespace and comments only: there is no second lexer to disagree with
 * the server's parser.
 */
#include "migrate.h"

#include "common/keywords.h"
#include "miscadmin.h"
#include "parser/scanner.h"
#include "utils/guc.h"
#include "utils/memutils.h"

/* Whether an error the scanner raised is about the text it read. */
static bool
is_lexical_error(int sqlerrcode)
{
	int			category = ERRCODE_TO_CATEGORY(sqlerrcode);

	return category == ERRCODE_SYNTAX_ERROR_OR_ACCESS_RULE_VIOLATION ||
		category == ERRCODE_DATA_EXCEPTION ||
		category == ERRCODE_FEATURE_NOT_SUPPORTED;
}

/*
 * Calls visit(start, end, arg) for each token of sql in order, start and end
 * being the byte offsets of its first byte and of the byte after it, until
 * visit returns false.  Returns -1, or the byte offset of the construct the
 * scanner refused (an unterminated string, quoted identifier, dollar quote
 * or block comment, a bad escape, ...): the scanner's error is not raised
 * here, because the server's parser refuses the same text with it where
 * the caller names the revision and the line.
 *
 * The scanner's NOTICE about a long identifier is kept quiet, since the
 * parser sends it already: client_min_messages and log_min_messages are at
 * least WARNING while it runs, and restored on every way out.
 */
int
sqlscan_tokens(const char *sql, SqlTokenVisitor visit, void *arg)
{
	MemoryContext caller_cxt = CurrentMemoryContext;
	MemoryContext scan_cxt;
	core_yy_extra_type extra;
	core_yyscan_t scanner;
	core_YYSTYPE lval;
	YYLTYPE    *location;
	int			saved_client_min = client_min_messages;
	int			saved_log_min = log_min_messages;
	volatile bool in_scanner = false;
	volatile int refused = -1;

	/* what the scanner allocates, its copy of sql included, goes at once */
	scan_cxt = AllocSetContextCreate(caller_cxt, "migrate scan", ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(scan_cxt);
	location = palloc(sizeof(YYLTYPE)); /* read after an error: not a local */
	*location = 0;
	scanner = scanner_init(sql, &extra, &ScanKeywords, ScanKeywordTokens);
	extra.standard_conforming_strings = true;
	extra.escape_string_warning = false;
	client_min_messages = Max(client_min_messages, WARNING);
	log_min_messages = Max(log_min_messages, WARNING);
	PG_TRY();
	{
		for (int ntokens = 1;; ntokens++)
		{
			int			end;
			bool		more;

			in_scanner = true;
			if (core_yylex(&lval, location, scanner) == 0)
				break;
			in_scanner = false;
			/* flex ends the token's text with a zero byte, as pg_stat_statements relies on */
			end = *location + strlen(extra.scanbuf + *location);
			MemoryContextSwitchTo(caller_cxt);
			more = visit == NULL || visit(*location, end, arg);
			MemoryContextSwitchTo(scan_cxt);
			if (!more)
				break;
			if (ntokens % 1024 == 0)
				CHECK_FOR_INTERRUPTS();
		}
	}
	PG_CATCH();
	{
		client_min_messages = saved_client_min;
		log_min_messages = saved_log_min;
		if (!in_scanner || !is_lexical_error(geterrcode()))
			PG_RE_THROW();
		FlushErrorState();
		refused = *location;
	}
	PG_END_TRY();
	client_min_messages = saved_client_min;
	log_min_messages = saved_log_min;

	/* deleting the context frees all that scanner_finish() would */
	MemoryContextSwitchTo(caller_cxt);
	MemoryContextDelete(scan_cxt);
	return refused;
}

/*
 * The byte offset of the block comment left open at the end of
 * sql[from, to), a stretch of whitespace and comments that starts outside
 * every comment, or -1 when every comment in it has ended by then.
 */
static int
open_comment(const char *sql, int from, int to)
{
	char	   *part;
	int			open;

	CHECK_FOR_INTERRUPTS();
	part = pnstrdup(sql + from, to - from);
	open = sqlscan_tokens(part, NULL, NULL);
	pfree(part);
	return open < 0 ? -1 : from + open;
}

/* Where the candidate lines of sqlscan_marker_lines() lie among the tokens. */
typedef struct LinePlaces
{
	const int  *lines;			/* candidate line starts, ascending */
	int			nlines;
	int			next;			/* the first line not yet placed */
	int			gap_start;		/* the end of the last token */
	int		   *gap;			/* per line: the start of its gap, or -1 */
} LinePlaces;

/* A token visitor: places the candidate lines that start before its end. */
static bool
place_lines(int start, int end, void *arg)
{
	LinePlaces *lp = arg;

	for (; lp->next < lp->nlines && lp->lines[lp->next] < end; lp->next++)
		lp->gap[lp->next] = lp->lines[lp->next] < start ? lp->gap_start : -1;
	lp->gap_start = end;
	return lp->next < lp->nlines;
}

/*
 * The last of lines[held..last] that the block comment starting at open
 * still holds, lines[held] being one: a galloping search, so that its scans
 * reach little past the comment however many lines follow it.
 */
static int
last_held(const char *sql, int open, const int *lines, int held, int last)
{
	int			lo = held;
	int			hi = last + 1;	/* the first line known to be past it */

	for (int step = 1; lo + step < hi; step *= 2)
	{
		if (open_comment(sql, open, lines[lo + step]) != open)
		{
			hi = lo + step;
			break;
		}
		lo += step;
	}
	while (hi - lo > 1)
	{
		int			mid = lo + (hi - lo) / 2;

		if (open_comment(sql, open, lines[mid]) == open)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/*
 * Of the candidate lines lines[first..last], all in the gap between two
 * tokens that starts at from, appends those outside every block comment to
 * result.
 */
static void
resolve_gap(const char *sql, int from, const int *lines, int first, int last,
			int *result, int *count)
{
	for (int i = first; i <= last;)
	{
		int			open = open_comment(sql, from, lines[i]);

		if (open < 0)
		{
			result[(*count)++] = lines[i];
			from = lines[i++];
		}
		else
		{
			i = last_held(sql, open, lines, i, last) + 1;
			from = open;
		}
	}
}

/*
 * The byte offsets, ascending, of the lines of sql that start with prefix
 * where the scanner reads a comment: outside every token (string, quoted
 * identifier, dollar-quoted body, ...) and every block comment.  No line
 * from a construct the scanner refuses on is one: the parser refuses the SQL
 * there.  Scans nothing when no line starts with prefix.
 */
int *
sqlscan_marker_lines(const char *sql, const char *prefix, int *count)
{
	size_t		prefixlen = strlen(prefix);
	int		   *lines = palloc(sizeof(int) * 8);
	int			capacity = 8;
	LinePlaces	lp = {0};
	int		   *result;
	int			refused;

	*count = 0;
	for (const char *s = sql;; s++)
	{
		if (strncmp(s, prefix, prefixlen) == 0)
		{
			if (lp.nlines == capacity)
				lines = repalloc(lines, sizeof(int) * (capacity *= 2));
			lines[lp.nlines++] = s - sql;
		}
		if ((s = strchr(s, '\n')) == NULL)
			break;
		CHECK_FOR_INTERRUPTS();
	}
	result = palloc(sizeof(int) * Max(lp.nlines, 1));
	if (lp.nlines == 0)
		return result;

	lp.lines = lines;
	lp.gap = palloc(sizeof(int) * lp.nlines);
	refused = sqlscan_tokens(sql, place_lines, &lp);
	/* the lines after the last token, up to what was refused if anything */
	for (; lp.next < lp.nlines; lp.next++)
		lp.gap[lp.next] = refused < 0 || lines[lp.next] < refused ? lp.gap_start : -1;

	for (int first = 0, last; first < lp.nlines; first = last + 1)
	{
		for (last = first; last + 1 < lp.nlines && lp.gap[last + 1] == lp.gap[first]; last++)
			;
		if (lp.gap[first] >= 0)
			resolve_gap(sql, lp.gap[first], lines, first, last, result, count);
	}
	return result;
}

/* The tokens of a text, as byte ranges: what sqlscan_same_tokens() compares. */
typedef struct TokenRanges
{
	const char *sql;
	int			n;
	int			cap;
	int		   *bounds;			/* start and end of each token */
} TokenRanges;

/* Whether the token noted last is a ";". */
static bool
last_is_semicolon(TokenRanges *tr)
{
	return tr->n > 0 && tr->bounds[2 * tr->n - 1] - tr->bounds[2 * tr->n - 2] == 1 &&
		tr->sql[tr->bounds[2 * tr->n - 2]] == ';';
}

/*
 * A token visitor: notes each token's range, but not a ";" right after
 * another (an empty statement), nor a first one.
 */
static bool
note_token(int start, int end, void *arg)
{
	TokenRanges *tr = arg;

	if (end - start == 1 && tr->sql[start] == ';' && (tr->n == 0 || last_is_semicolon(tr)))
		return true;

	if (tr->n == tr->cap)
	{
		tr->cap = tr->cap == 0 ? 256 : tr->cap * 2;
		tr->bounds = tr->bounds == NULL ? palloc(sizeof(int) * 2 * tr->cap) :
			repalloc(tr->bounds, sizeof(int) * 2 * tr->cap);
	}
	tr->bounds[2 * tr->n] = start;
	tr->bounds[2 * tr->n + 1] = end;
	tr->n++;
	return true;
}

/*
 * Whether two texts are the same statements token for token, byte for byte,
 * differing only in comments, whitespace, line ends and empty statements (a
 * ";" at the end or after another).  A text the scanner refuses is never
 * the same as another.
 */
bool
sqlscan_same_tokens(const char *a, const char *b)
{
	TokenRanges ta = {a, 0, 0, NULL};
	TokenRanges tb = {b, 0, 0, NULL};

	if (sqlscan_tokens(a, note_token, &ta) >= 0 || sqlscan_tokens(b, note_token, &tb) >= 0)
		return false;
	if (last_is_semicolon(&ta))
		ta.n--;
	if (last_is_semicolon(&tb))
		tb.n--;
	if (ta.n != tb.n)
		return false;
	for (int i = 0; i < ta.n; i++)
	{
		int			len = ta.bounds[2 * i + 1] - ta.bounds[2 * i];

		if (len != tb.bounds[2 * i + 1] - tb.bounds[2 * i] ||
			memcmp(a + ta.bounds[2 * i], b + tb.bounds[2 * i], len) != 0)
			return false;
	}
	return true;
}
