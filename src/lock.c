/*
 * lock.c
 *		The deploy lock, and the rules checked before any state change.
 *
 * The lock is the transaction-level advisory lock on MIGRATE_LOCK_KEY, taken
 * through the lock manager exactly as pg_advisory_xact_lock(bigint) takes it,
 * so it shows in pg_locks, honours lock_timeout and deadlock detection, and
 * is released with the transaction (or the session, when a backend dies).
 *
 * The step lock (MIGRATE_STEP_LOCK_KEY) is held for its session by a deploy
 * or revert while it runs a non-transactional revision outside any
 * transaction, without the deploy lock: a concurrent index build waits for
 * every transaction holding a snapshot, so no deployer may wait for the
 * deploy lock with one meanwhile.  Whoever takes the deploy lock then finds
 * the step lock taken: a deploy or revert commits and waits for the step
 * lock without a snapshot; any other call fails at once (55P03).
 */
#include "migrate.h"

#include "access/xact.h"
#include "access/xlog.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "storage/proc.h"
#include "storage/procarray.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/backend_status.h"
#include "utils/guc.h"

/* GUC migrate.lock_wait; off: a call fails at once with 55P03 when the lock is busy */
static bool migrate_lock_wait = true;

/* Nesting depth of migrate operations; a revision's SQL may not start one. */
static int	operation_depth = 0;

/* Set in a background worker that runs a revision's statement. */
static bool running_revision_statement = false;

/* The subtransaction the outermost operation started in. */
static SubTransactionId operation_subxid = InvalidSubTransactionId;

/*
 * Marks the start of a state-changing call.  A revision whose SQL calls back
 * into migrate would change the state the running call has planned from.
 */
static void
operation_enter(const char *function_name)
{
	if (operation_depth > 0 || running_revision_statement)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("%s cannot be called while another migrate operation runs", function_name),
				 errdetail("A revision's SQL may not change the migrate catalogs.")));
	operation_subxid = GetCurrentSubTransactionId();
	operation_depth++;
}

/* Marks the end of a state-changing call. */
static void
operation_exit(void)
{
	if (operation_depth > 0)
		operation_depth--;
}

/*
 * Marks the process as running a revision's statement for good: a background
 * worker running one calls this, so that migrate refuses to start there.
 */
void
operation_forbid_nested(void)
{
	running_revision_statement = true;
}

/* Clears the nesting depth when an error aborts a call. */
static void
operation_xact_callback(XactEvent event, void *arg pg_attribute_unused())
{
	if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT)
		operation_depth = 0;
}

/*
 * An operation started in an aborted subtransaction (a caller's exception
 * block) is over; subtransactions inside a revision's SQL abort later-numbered
 * ones and leave it running.
 */
static void
operation_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						   SubTransactionId parentSubid pg_attribute_unused(), void *arg pg_attribute_unused())
{
	if (event == SUBXACT_EVENT_ABORT_SUB && operation_depth > 0 && mySubid <= operation_subxid)
		operation_depth = 0;
}

/*
 * Defines migrate.lock_wait, and registers the callbacks that reset the
 * nesting depth when a call aborts.
 */
void
lock_init(void)
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
	RegisterXactCallback(operation_xact_callback, NULL);
	RegisterSubXactCallback(operation_subxact_callback, NULL);
}

/* The pid of a backend holding the deploy lock, or 0 if none is found. */
static int
deploy_lock_holder(const LOCKTAG *tag)
{
	VirtualTransactionId *holders;
	int			count = 0;

	holders = GetLockConflicts(tag, ExclusiveLock, &count);
	for (int i = 0; i < count && VirtualTransactionIdIsValid(holders[i]); i++)
	{
		PGPROC	   *proc = migrate_vxid_proc(holders[i]);

		if (proc != NULL && proc->pid != MyProcPid)
			return proc->pid;
	}
	return 0;
}

/*
 * The role and application_name of a backend, as pg_stat_activity shows them
 * to any role; false if the process has no status entry (it has just ended).
 * The status snapshot is read afresh: one taken earlier in this transaction
 * may predate the holder's session.
 */
static bool
backend_identity(int pid, const char **role, const char **appname)
{
	int			n;

	pgstat_clear_backend_activity_snapshot();
	n = pgstat_fetch_stat_numbackends();
	for (int i = 1; i <= n; i++)
	{
		LocalPgBackendStatus *local = migrate_local_beentry(i);
		const char *name = NULL;

		if (local == NULL || local->backendStatus.st_procpid != pid)
			continue;
		if (OidIsValid(local->backendStatus.st_userid))
			name = GetUserNameFromId(local->backendStatus.st_userid, true);
		*role = name ? name : "?";
		*appname = local->backendStatus.st_appname ? local->backendStatus.st_appname : "";
		return true;
	}
	return false;
}

/*
 * Checks that the transaction may change state.  Callers run it before
 * anything else, so that a refused call takes no lock at all.
 */
static void
deploy_rules_check(const char *function_name)
{
	PreventCommandDuringRecovery(function_name);
	PreventCommandIfReadOnly(function_name);

	/*
	 * Under REPEATABLE READ the state would be read through the snapshot
	 * taken before the lock was granted, and so could be stale.
	 */
	if (IsolationUsesXactSnapshot())
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TRANSACTION_STATE),
				 errmsg("%s requires the READ COMMITTED isolation level", function_name),
				 errdetail("The current transaction is %s.",
						   IsolationIsSerializable() ? "SERIALIZABLE" : "REPEATABLE READ"),
				 errhint("Run it in a READ COMMITTED transaction, so that it sees the work of any deployer it waited for.")));
}

/* The locktag of the step lock. */
static void
step_lock_tag(LOCKTAG *tag)
{
	uint64		key = (uint64) MIGRATE_STEP_LOCK_KEY;

	SET_LOCKTAG_ADVISORY(*tag, MyDatabaseId, (uint32) (key >> 32), (uint32) key, 1);
}

/* Whether this session holds the step lock. */
static bool step_lock_held = false;

/*
 * Takes the step lock for the session, under the deploy lock: this deploy is
 * about to run a revision outside a transaction.
 */
void
step_lock_take(void)
{
	LOCKTAG		tag;

	step_lock_tag(&tag);
	(void) LockAcquire(&tag, ExclusiveLock, true, false);
	step_lock_held = true;
}

/* Releases the step lock if this session holds it; safe after any error. */
void
step_lock_release(void)
{
	LOCKTAG		tag;

	if (!step_lock_held)
		return;
	step_lock_tag(&tag);
	LockRelease(&tag, ExclusiveLock, true);
	step_lock_held = false;
}

/*
 * Waits until no session holds the step lock.  Called without a snapshot,
 * so that the build the holder runs does not wait for this session.
 */
void
step_lock_wait(void)
{
	LOCKTAG		tag;
	int			holder;

	step_lock_tag(&tag);
	if (LockAcquire(&tag, ShareLock, false, !migrate_lock_wait) == LOCKACQUIRE_NOT_AVAIL)
	{
		holder = deploy_lock_holder(&tag);
		ereport(ERROR,
				(errcode(ERRCODE_LOCK_NOT_AVAILABLE),
				 errmsg("could not obtain the migrate deploy lock"),
				 holder != 0 ?
				 errdetail("The process with PID %d is running a non-transactional revision.", holder) :
				 errdetail("A deploy is running a non-transactional revision."),
				 errhint("Wait for it to finish, or set migrate.lock_wait to on to wait for it.")));
	}
	LockRelease(&tag, ShareLock, false);
}

/* The pid of another session holding the step lock, or 0 (-1: one not found). */
static int
step_lock_holder(void)
{
	LOCKTAG		tag;
	int			holder;

	step_lock_tag(&tag);
	if (LockAcquire(&tag, ShareLock, false, true) != LOCKACQUIRE_NOT_AVAIL)
	{
		LockRelease(&tag, ShareLock, false);
		return 0;
	}
	holder = deploy_lock_holder(&tag);
	return holder != 0 ? holder : -1;
}

/* Refuses a call that found a revision running outside a transaction. */
static void
refuse_during_step(int holder)
{
	ereport(ERROR,
			(errcode(ERRCODE_LOCK_NOT_AVAILABLE),
			 errmsg("could not obtain the migrate deploy lock"),
			 holder > 0 ?
			 errdetail("The process with PID %d is running a non-transactional revision, and a concurrent index build waits for every transaction that holds a snapshot, as this one does.", holder) :
			 errdetail("A deploy is running a non-transactional revision, and a concurrent index build waits for every transaction that holds a snapshot, as this one does."),
			 errhint("Retry when it has finished, or use CALL migrate.deploy(), which waits for it without a snapshot.")));
}

/* Takes the deploy lock, waiting for it unless migrate.lock_wait is off. */
static void
deploy_lock_take(void)
{
	LOCKTAG		tag;
	uint64		key = (uint64) MIGRATE_LOCK_KEY;

	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, (uint32) (key >> 32), (uint32) key, 1);

	if (LockAcquire(&tag, ExclusiveLock, false, !migrate_lock_wait) == LOCKACQUIRE_NOT_AVAIL)
	{
		int			holder = deploy_lock_holder(&tag);
		const char *role = NULL;
		const char *appname = NULL;
		bool		known = holder != 0 && backend_identity(holder, &role, &appname);

		ereport(ERROR,
				(errcode(ERRCODE_LOCK_NOT_AVAILABLE),
				 errmsg("could not obtain the migrate deploy lock"),
				 known ?
				 errdetail("The lock is held by the process with PID %d (role \"%s\", application_name \"%s\").",
						   holder, role, appname) :
				 holder != 0 ?
				 errdetail("The lock is held by the process with PID %d.", holder) :
				 errdetail("Another transaction holds the lock."),
				 errhint("Wait for that transaction to end, or set migrate.lock_wait to on to wait for it.")));
	}
}

/*
 * Starts a state-changing call, the same way for every one: marks it running
 * (a revision's SQL may not start another), checks that the transaction may
 * change state (before any lock or query, so a refused call takes nothing),
 * connects to SPI unless the caller holds a connection (deploy keeps one
 * across its transactions), and takes the deploy lock.  Each call writes its
 * history through audit_begin() after it.  Returns false, with the flag
 * OPERATION_STEP_WAIT, when another session runs a revision outside a
 * transaction: the caller ends the call's transaction and waits with
 * step_lock_wait(); without the flag, such a call fails.
 */
bool
operation_begin(const char *function_name, int flags)
{
	int			step_holder;

	operation_enter(function_name);
	deploy_rules_check(function_name);
	if ((flags & OPERATION_CONNECTED) == 0)
		catalog_connect();
	deploy_lock_take();
	step_holder = step_lock_holder();
	if (step_holder != 0 && (flags & OPERATION_STEP_WAIT) != 0)
		return false;
	if (step_holder != 0)
		refuse_during_step(step_holder);
	return true;
}

/* Ends a call begun with operation_begin(), given the same flags. */
void
operation_end(int flags)
{
	if ((flags & OPERATION_CONNECTED) == 0)
		SPI_finish();
	operation_exit();
}
