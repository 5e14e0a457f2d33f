/*
 * migrate.c
 *		Module entry point: PG_MODULE_MAGIC, _PG_init and migrate.lock_key().
 */
#include "migrate.h"

#include "utils/guc.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/*
 * Hands off to each file's init function (its GUCs, callbacks and hooks),
 * then reserves the "migrate." prefix for the GUCs they defined.
 */
void
_PG_init(void)
{
	lock_init();
	residue_init();
	lint_init();
	locksafe_init();
	schemamodel_init();
	drift_init();
	ddlevent_init();
	drifttouch_init();
	MarkGUCPrefixReserved("migrate");
}

PG_FUNCTION_INFO_V1(migrate_lock_key);

/* migrate.lock_key(): the advisory lock key of the deploy lock */
Datum
migrate_lock_key(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(MIGRATE_LOCK_KEY);
}
