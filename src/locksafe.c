/*
 * locksafe.c
 *		Lock-safe execution of a revision's statements: migrate.lock_timeout
 *		set for the revision, and migrate.lock_retries retries of a statement
 *		that gave up waiting for a lock (55P03), after an exponential backoff
 *		with jitter, as pgroll retries.  A statement that waits no longer than
 *		the timeout keeps the application's queries, queued behind its lock
 *		request, from waiting longer than that.
 */
#include "migrate.h"

#include "common/pg_prng.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "storage/latch.h"
#include "utils/guc.h"
#include "utils/wait_event.h"

/* migrate.lock_timeout, in ms (0: the session's lock_timeout applies) */
int			migrate_lock_timeout = 0;

/* migrate.lock_retries: retries of a statement that timed out on a lock */
static int	migrate_lock_retries = 0;

/* The first backoff, and the longest, in ms. */
#define BACKOFF_FIRST_MS	100
#define BACKOFF_MAX_MS		10000

/* Defines migrate.lock_timeout and migrate.lock_retries. */
void
locksafe_init(void)
{
	DefineCustomIntVariable("migrate.lock_timeout",
							"Sets lock_timeout for each revision's statements.",
							"0 leaves the session's lock_timeout. A revision's own SET lock_timeout applies to the statements after it.",
							&migrate_lock_timeout,
							0, 0, INT_MAX,
							PGC_USERSET, GUC_UNIT_MS,
							NULL, NULL, NULL);
	DefineCustomIntVariable("migrate.lock_retries",
							"How often a revision's statement that timed out waiting for a lock is retried.",
							"Each retry comes after an exponential backoff with jitter; 0 fails at once, as without migrate.",
							&migrate_lock_retries,
							0, 0, 1000,
							PGC_USERSET, 0,
							NULL, NULL, NULL);
}

/*
 * Sets lock_timeout to migrate.lock_timeout for the revision about to run,
 * in the GUC nest level that residue_mark() opened for it (undone at its end).
 */
void
locksafe_begin_revision(void)
{
	char		value[32];

	if (migrate_lock_timeout <= 0)
		return;
	snprintf(value, sizeof(value), "%d", migrate_lock_timeout);
	(void) set_config_option("lock_timeout", value, PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
}

/* Sleeps the backoff before retry number attempt (1-based), waking for interrupts. */
static void
backoff(int attempt, StepContext *sc)
{
	long		ceiling = BACKOFF_FIRST_MS;
	long		ms;

	for (int i = 1; i < attempt && ceiling < BACKOFF_MAX_MS; i++)
		ceiling *= 2;
	ceiling = Min(ceiling, BACKOFF_MAX_MS);
	/* "equal jitter": half the ceiling, plus up to the other half at random */
	ms = ceiling / 2 + (long) (pg_prng_double(&pg_global_prng_state) * (ceiling / 2));
	ereport(NOTICE,
			(errmsg("revision \"%s\", line %d: a lock was not granted within migrate.lock_timeout; retry %d of %d",
					sc->revision, sc->line, attempt, migrate_lock_retries),
			 errdetail("Retrying after %ld ms.", ms)));
	(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, ms,
					 PG_WAIT_EXTENSION);
	ResetLatch(MyLatch);
	CHECK_FOR_INTERRUPTS();
}

/* A statement run through SPI by run_caught(), and SPI_execute()'s result. */
typedef struct SpiStatement
{
	const char *sql;
	int			ret;
} SpiStatement;

/* Runs the statement (body of run_caught()). */
static void
execute_body(void *arg)
{
	SpiStatement *st = arg;

	st->ret = SPI_execute(st->sql, false, 0);
}

/*
 * Runs one statement through SPI; with migrate.lock_retries, in a
 * subtransaction (run_caught()) that a lock timeout (55P03) rolls back
 * before a retry.  Returns SPI_execute()'s result; counts the retries in
 * sc->lock_retries.
 */
int
locksafe_execute(const char *sql, StepContext *sc)
{
	SpiStatement st = {sql, 0};

	if (migrate_lock_retries <= 0)
		return SPI_execute(sql, false, 0);
	for (int attempt = 1;; attempt++)
	{
		ErrorData  *edata = run_caught(execute_body, &st);

		if (edata == NULL)
			return st.ret;
		if (edata->sqlerrcode != ERRCODE_LOCK_NOT_AVAILABLE || attempt > migrate_lock_retries)
			ReThrowError(edata);
		FreeErrorData(edata);
		sc->lock_retries++;
		backoff(attempt, sc);
	}
}

/* A history row's detail counting lock retries, or NULL when there were none. */
char *
lock_retries_detail(int lock_retries)
{
	return lock_retries > 0 ? psprintf("{\"lock_retries\": %d}", lock_retries) : NULL;
}
