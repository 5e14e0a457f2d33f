/*
 * migrate.c
 *		Module entry point: PG_MODULE_MAGIC, the GUCs and migrate.lock_key().
 */
#include "migrate.h"

#include "utils/guc.h"

PG_MODULE_MAGIC;

/* off: a state-changing call fails at once with 55P03 when the lock is busy */
bool		migrate_lock_wait = true;

void		_PG_init(void);

/* Defines the GUCs and installs the callbacks and hooks of each file. */
void
_PG_init(void)
{
	DefineCustomBoolVariable("migrate.lock_wait",
							 "Whether state-changing migrate calls wait for the deploy lock.",
							 "When off, a call fails at once with SQLSTATE 55P03 if another "
							 "transaction holds the deploy lock.",
							 &migrate_lock_wait,
							 true,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);

	MarkGUCPrefixReserved("migrate");

	lock_init();
	residue_init();
}

PG_FUNCTION_INFO_V1(migrate_lock_key);

/* migrate.lock_key(): the advisory lock key of the deploy lock */
Datum
migrate_lock_key(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(MIGRATE_LOCK_KEY);
}
