/*
 * worker.c
 *		One statement of a revision run at top level in a dynamic background
 *		worker, for the statements that cannot run through SPI (CREATE INDEX
 *		CONCURRENTLY, VACUUM, REINDEX CONCURRENTLY, ...).
 *
 * The deployer (the leader) puts what the worker needs into a dynamic shared
 * memory segment: its database and roles, its loaded libraries and settings,
 * the statement and the revision id, and a message queue from the worker
 * back to it.  The worker connects as the leader's user, adopts that state,
 * and runs the statement as exec_simple_query runs a one-statement query
 * string, so that PreventInTransactionBlock() accepts it.  Its notices and
 * its error travel back through the queue in the frontend protocol (as a
 * parallel worker's do) and the leader raises them as its own, with their
 * SQLSTATE and fields and a context line naming the worker and the revision.
 * pg_background and parallel query (access/transam/parallel.c) work so.
 *
 * The leader waits holding no snapshot, so that a concurrent index build in
 * the worker does not wait for it.  If the leader fails, is cancelled or
 * exits while it waits, it stops the worker: a statement never outlives the
 * deploy that started it.
 */
#include "migrate.h"

#include "access/xact.h"
#include "libpq/pqformat.h"
#include "libpq/pqmq.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "parser/analyze.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/dsm.h"
#include "storage/ipc.h"
#include "storage/proc.h"
#include "storage/shm_mq.h"
#include "storage/shm_toc.h"
#include "tcop/pquery.h"
#include "tcop/tcopprot.h"
#include "tcop/utility.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/ps_status.h"
#include "utils/snapmgr.h"
#include "utils/timeout.h"

/* "migr": the segment's table of contents, and its keys */
#define WORKER_MAGIC			0x6d696772
#define WORKER_KEY_SHARED		0
#define WORKER_KEY_LIBRARIES	1
#define WORKER_KEY_GUC			2
#define WORKER_KEY_SQL			3
#define WORKER_KEY_REVISION		4
#define WORKER_KEY_QUEUE		5
#define WORKER_NKEYS			6

/*
 * The queue from the worker to the leader.  Large enough for a usual error
 * with its context, so that a failing worker can exit without waiting for
 * the leader to read; longer messages pass through it in parts.
 */
#define WORKER_QUEUE_SIZE		16384

/* The leader's identity, and the worker's result. */
typedef struct WorkerShared
{
	Oid			database_id;
	Oid			authenticated_user_id;	/* logged in: the worker connects as it */
	Oid			session_user_id;	/* comes with session_authorization */
	Oid			outer_user_id;	/* GetCurrentRoleId(): InvalidOid without SET ROLE */
	bool		outer_is_superuser;
	Oid			current_user_id;
	int			sec_context;
	pid_t		leader_pid;
	pid_t		worker_pid;		/* set by the worker before it attaches the queue */
	bool		succeeded;		/* set by the worker when its statement committed */
} WorkerShared;

/* What the leader's error context line names. */
typedef struct WorkerContext
{
	volatile WorkerShared *shared;
	int			line;
	const char *revision;
} WorkerContext;

/*
 * The worker that the leader waits for, if any: a process exiting
 * (pg_terminate_backend, a lost client) stops it.
 */
static BackgroundWorkerHandle *running_worker = NULL;

/* Stops the running worker when the leader's process exits. */
static void
stop_worker_at_exit(int code pg_attribute_unused(), Datum arg pg_attribute_unused())
{
	if (running_worker != NULL)
		TerminateBackgroundWorker(running_worker);
	running_worker = NULL;
}

/*
 * Arms the exit callback for a worker.  It is registered once per process
 * and armed only while a worker runs, rather than registered and cancelled
 * each time: cancel_before_shmem_exit() fails unless its callback is the
 * latest one registered.
 */
static void
arm_exit_callback(BackgroundWorkerHandle *handle)
{
	static bool registered = false;

	if (!registered)
	{
		before_shmem_exit(stop_worker_at_exit, (Datum) 0);
		registered = true;
	}
	running_worker = handle;
}

/* Notes the leader's database, roles and pid for the worker. */
static void
fill_shared(WorkerShared *shared)
{
	const char *is_superuser = GetConfigOption("is_superuser", false, false);

	shared->database_id = MyDatabaseId;
	shared->authenticated_user_id = GetAuthenticatedUserId();
	shared->session_user_id = GetSessionUserId();
	shared->outer_user_id = GetCurrentRoleId();
	/* the GUC is_superuser follows SET ROLE; reading it needs no catalog access */
	shared->outer_is_superuser = is_superuser != NULL && strcmp(is_superuser, "on") == 0;
	GetUserIdAndSecContext(&shared->current_user_id, &shared->sec_context);
	shared->leader_pid = MyProcPid;
	shared->worker_pid = 0;
	shared->succeeded = false;
}

/* Copies a string into the segment under key. */
static void
put_string(shm_toc *toc, uint64 key, const char *s)
{
	Size		len = strlen(s) + 1;
	char	   *space = shm_toc_allocate(toc, len);

	memcpy(space, s, len);
	shm_toc_insert(toc, key, space);
}

/*
 * Creates the segment with everything the worker needs, and attaches the
 * leader to the queue as its receiver.
 */
static dsm_segment *
create_segment(const char *sql, const char *revision,
			   WorkerShared **shared, shm_mq_handle **mqh)
{
	shm_toc_estimator e;
	Size		library_len = EstimateLibraryStateSpace();
	Size		guc_len = EstimateGUCStateSpace();
	Size		segsize;
	dsm_segment *seg;
	shm_toc    *toc;
	char	   *space;
	shm_mq	   *mq;

	shm_toc_initialize_estimator(&e);
	shm_toc_estimate_chunk(&e, sizeof(WorkerShared));
	shm_toc_estimate_chunk(&e, library_len);
	shm_toc_estimate_chunk(&e, guc_len);
	shm_toc_estimate_chunk(&e, strlen(sql) + 1);
	shm_toc_estimate_chunk(&e, strlen(revision) + 1);
	shm_toc_estimate_chunk(&e, WORKER_QUEUE_SIZE);
	shm_toc_estimate_keys(&e, WORKER_NKEYS);
	segsize = shm_toc_estimate(&e);

	seg = dsm_create(segsize, 0);
	toc = shm_toc_create(WORKER_MAGIC, dsm_segment_address(seg), segsize);

	*shared = shm_toc_allocate(toc, sizeof(WorkerShared));
	fill_shared(*shared);
	shm_toc_insert(toc, WORKER_KEY_SHARED, *shared);

	space = shm_toc_allocate(toc, library_len);
	SerializeLibraryState(library_len, space);
	shm_toc_insert(toc, WORKER_KEY_LIBRARIES, space);

	space = shm_toc_allocate(toc, guc_len);
	SerializeGUCState(guc_len, space);
	shm_toc_insert(toc, WORKER_KEY_GUC, space);

	put_string(toc, WORKER_KEY_SQL, sql);
	put_string(toc, WORKER_KEY_REVISION, revision);

	mq = shm_mq_create(shm_toc_allocate(toc, WORKER_QUEUE_SIZE), WORKER_QUEUE_SIZE);
	shm_toc_insert(toc, WORKER_KEY_QUEUE, mq);
	shm_mq_set_receiver(mq, MyProc);
	*mqh = shm_mq_attach(mq, seg, NULL);
	return seg;
}

/* Registers the worker for the segment, or fails when no slot is free. */
static BackgroundWorkerHandle *
register_worker(dsm_segment *seg, const char *revision)
{
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_ConsistentState;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "migrate");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "migrate_worker_main");
	snprintf(worker.bgw_type, BGW_MAXLEN, "migrate worker");
	snprintf(worker.bgw_name, BGW_MAXLEN, "migrate worker for PID %d", MyProcPid);
	worker.bgw_main_arg = UInt32GetDatum(dsm_segment_handle(seg));
	/* the postmaster signals us when it starts and stops */
	worker.bgw_notify_pid = MyProcPid;

	if (!RegisterDynamicBackgroundWorker(&worker, &handle))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
				 errmsg("could not start a background worker for revision \"%s\"", revision),
				 errdetail("Every background worker slot is in use (max_worker_processes is %d).",
						   max_worker_processes),
				 errhint("Raise max_worker_processes, or retry when fewer background workers run.")));
	return handle;
}

/*
 * Waits for the worker to start.  A worker already stopped may have run and
 * ended: whether it ran its statement is read from the queue and the
 * succeeded flag, as for any worker.
 */
static void
wait_for_start(BackgroundWorkerHandle *handle, const char *revision)
{
	pid_t		pid;

	if (WaitForBackgroundWorkerStartup(handle, &pid) == BGWH_POSTMASTER_DIED)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
				 errmsg("could not start a background worker for revision \"%s\"", revision),
				 errdetail("The postmaster has exited.")));
}

/*
 * Error context naming the worker and the statement it runs.  The pid is
 * the one the worker noted before it could send anything (one that ended
 * before its start was seen has none from the postmaster).
 */
static void
worker_error_context(void *arg)
{
	WorkerContext *wc = arg;
	int			pid = (int) wc->shared->worker_pid;

	if (wc->line > 0)
		errcontext("background worker (PID %d) running statement at line %d of revision \"%s\"",
				   pid, wc->line, wc->revision);
	else
		errcontext("background worker (PID %d) running a statement of revision \"%s\"",
				   pid, wc->revision);
}

/*
 * Raises a notice or an error of the worker in the leader, with its fields
 * and the leader's context.  A position in the statement is reported as a
 * position in an internal query, as PL/pgSQL reports SPI's, rather than in
 * the leader's own query.
 */
static void
raise_from_worker(ErrorData *edata, const char *sql, WorkerContext *wc)
{
	ErrorContextCallback callback;

	if (edata->cursorpos > 0 && edata->internalquery == NULL)
	{
		edata->internalpos = edata->cursorpos;
		edata->internalquery = pstrdup(sql);
		edata->cursorpos = 0;
	}
	callback.callback = worker_error_context;
	callback.arg = wc;
	callback.previous = error_context_stack;
	error_context_stack = &callback;
	ThrowErrorData(edata);
	error_context_stack = callback.previous;
}

/*
 * Reads the worker's messages until it detaches from the queue.  Notices are
 * passed on at once; the first error is returned, to be raised once the
 * worker is gone.
 */
static ErrorData *
receive_messages(shm_mq_handle *mqh, const char *sql, WorkerContext *wc)
{
	MemoryContext caller_cxt = CurrentMemoryContext;
	MemoryContext msg_cxt = AllocSetContextCreate(caller_cxt, "migrate worker message",
												  ALLOCSET_SMALL_SIZES);
	ErrorData  *error = NULL;

	for (;;)
	{
		Size		nbytes;
		void	   *data;
		StringInfoData msg;
		char		msgtype;
		ErrorData	edata;

		/* waits on the latch: cancels and timeouts interrupt it */
		if (shm_mq_receive(mqh, &nbytes, &data, false) != SHM_MQ_SUCCESS)
			break;
		MemoryContextReset(msg_cxt);
		MemoryContextSwitchTo(msg_cxt);
		initStringInfo(&msg);
		appendBinaryStringInfo(&msg, data, nbytes);
		msgtype = pq_getmsgbyte(&msg);
		if (msgtype == 'E' && error == NULL)
		{
			MemoryContextSwitchTo(caller_cxt);
			error = palloc0(sizeof(ErrorData));
			pq_parse_errornotice(&msg, error);
			/* a worker's FATAL ends the worker, not the leader's session */
			error->elevel = ERROR;
		}
		else if (msgtype == 'N')
		{
			pq_parse_errornotice(&msg, &edata);
			MemoryContextSwitchTo(caller_cxt);
			if (edata.elevel < ERROR)
				raise_from_worker(&edata, sql, wc);
		}
		/* a utility statement sends nothing else worth passing on */
		MemoryContextSwitchTo(caller_cxt);
	}
	MemoryContextDelete(msg_cxt);
	return error;
}

/*
 * Stops the worker if it still runs and waits until it is gone, so that its
 * locks are released.  Interrupts are held while waiting, as parallel query
 * does when it ends its workers on error: the worker exits at its next
 * interrupt check once told to.
 */
static void
stop_worker(BackgroundWorkerHandle *handle)
{
	TerminateBackgroundWorker(handle);
	HOLD_INTERRUPTS();
	(void) WaitForBackgroundWorkerShutdown(handle);
	RESUME_INTERRUPTS();
}

/*
 * Waits for the worker's messages and its end, then raises its error, or
 * fails if it ended without committing its statement.
 */
static void
wait_for_worker(BackgroundWorkerHandle *handle, shm_mq_handle *mqh,
				volatile WorkerShared *shared, const char *sql, WorkerContext *wc,
				volatile bool *stopped)
{
	ErrorData  *error = receive_messages(mqh, sql, wc);

	/* its queue is detached: wait until it is gone, and its locks with it */
	(void) WaitForBackgroundWorkerShutdown(handle);
	*stopped = true;
	pg_memory_barrier();
	if (error != NULL)
		raise_from_worker(error, sql, wc);
	if (!shared->succeeded)
		ereport(ERROR,
				(errcode(ERRCODE_ADMIN_SHUTDOWN),
				 errmsg("background worker running revision \"%s\" ended without finishing its statement",
						wc->revision),
				 errdetail("The worker exited without reporting an error; the server log may say why.")));
}

/*
 * Runs sql, one statement already checked by the parser, at top level in a
 * new background worker, as the caller's role with the caller's settings,
 * and waits for it.  The worker's notices reach the caller as they come; its
 * error is raised here with its SQLSTATE, message, detail, hint and context.
 *
 * The caller is in a transaction that has taken no snapshot, and takes none
 * here: a concurrent index build waits for every transaction with an older
 * snapshot, and would wait for this one while this one waits for it.  A
 * catalog snapshot is the one this backend may hold unknowingly; it is
 * dropped, and nothing here reads the catalogs.
 */
void
worker_run_statement(const char *sql, const char *revision, int line)
{
	WorkerShared *shared;
	shm_mq_handle *mqh;
	dsm_segment *seg;
	BackgroundWorkerHandle *volatile handle = NULL;
	volatile bool stopped = false;
	WorkerContext wc;

	/* the statement commits on its own: in a block it would escape its rollback */
	if (IsTransactionBlock())
		ereport(ERROR,
				(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
				 errmsg("revision \"%s\" cannot run a statement in a background worker inside a transaction block",
						revision)));
	InvalidateCatalogSnapshot();
	if (HaveRegisteredOrActiveSnapshot())
		elog(ERROR, "a revision's statement cannot run in a background worker while its caller holds a snapshot");

	seg = create_segment(sql, revision, &shared, &mqh);
	PG_TRY();
	{
		handle = register_worker(seg, revision);
		shm_mq_set_handle(mqh, handle);
		arm_exit_callback(handle);
		wait_for_start(handle, revision);
		wc.shared = shared;
		wc.line = line;
		wc.revision = revision;
		wait_for_worker(handle, mqh, shared, sql, &wc, &stopped);
	}
	PG_FINALLY();
	{
		running_worker = NULL;
		if (handle != NULL && !stopped)
			stop_worker(handle);
		dsm_detach(seg);
	}
	PG_END_TRY();
}

/*
 * Adopts the leader's libraries, settings and roles, in a transaction of
 * its own since the settings' checks may read the catalogs.  The libraries
 * come first: they define custom settings.  The roles come after the
 * settings, whose session_authorization sets the session user.
 */
static void
adopt_leader_state(shm_toc *toc, WorkerShared *shared)
{
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	RestoreLibraryState(shm_toc_lookup(toc, WORKER_KEY_LIBRARIES, false));
	RestoreGUCState(shm_toc_lookup(toc, WORKER_KEY_GUC, false));

	/*
	 * The leader's client_encoding was restored with the rest; the queue
	 * carries text in the database encoding, and the leader converts it for
	 * its client (a conversion here would be done twice).
	 */
	if (SetClientEncoding(GetDatabaseEncoding()) < 0)
		elog(ERROR, "SetClientEncoding(%d) failed", GetDatabaseEncoding());

	/*
	 * The statement was checked with standard_conforming_strings on.  Set
	 * for the session, not through residue_force_standard_strings(), whose
	 * setting ends with the transaction: a concurrent build commits several.
	 */
	(void) set_config_option("standard_conforming_strings", "on",
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SET, true, 0, false);

	/* never run as anyone else, should a version not restore it so */
	if (GetSessionUserId() != shared->session_user_id)
		elog(ERROR, "the session user of a migrate worker is %u, not its leader's %u",
			 GetSessionUserId(), shared->session_user_id);
	SetCurrentRoleId(shared->outer_user_id, shared->outer_is_superuser);
	SetUserIdAndSecContext(shared->current_user_id, shared->sec_context);
	CommitTransactionCommand();
}

/*
 * Parses, analyzes and plans the statement, in the worker's context: a
 * statement that commits inside (CREATE INDEX CONCURRENTLY) outlives the
 * transaction it started in.
 */
static List *
plan_statement(const char *sql, const char *revision, MemoryContext cxt, CommandTag *tag)
{
	MemoryContext old = MemoryContextSwitchTo(cxt);
	List	   *parsetrees = pg_parse_query(sql);
	RawStmt    *raw;
	bool		snapshot_set = false;
	List	   *querytrees;
	List	   *plans;

	if (list_length(parsetrees) != 1)
		elog(ERROR, "revision \"%s\": a background worker runs one statement, not %d",
			 revision, list_length(parsetrees));
	raw = linitial_node(RawStmt, parsetrees);
	*tag = CreateCommandTag(raw->stmt);
	if (analyze_requires_snapshot(raw))
	{
		PushActiveSnapshot(GetTransactionSnapshot());
		snapshot_set = true;
	}
	querytrees = pg_analyze_and_rewrite_fixedparams(raw, sql, NULL, 0, NULL);
	plans = pg_plan_queries(querytrees, sql, CURSOR_OPT_PARALLEL_OK, NULL);
	if (snapshot_set)
		PopActiveSnapshot();
	MemoryContextSwitchTo(old);
	return plans;
}

/*
 * Runs the statement as exec_simple_query runs a query string of one
 * statement: in a transaction started for it and not in a transaction block,
 * in an unnamed portal run at top level, under statement_timeout.
 */
static void
run_at_top_level(const char *sql, const char *revision)
{
	MemoryContext cxt = CurrentMemoryContext;
	CommandTag	tag;
	List	   *plans;
	Portal		portal;
	DestReceiver *receiver;
	QueryCompletion qc;

	SetCurrentStatementStartTimestamp();
	debug_query_string = sql;
	pgstat_report_activity(STATE_RUNNING, sql);
	StartTransactionCommand();
	if (StatementTimeout > 0)
		enable_timeout_after(STATEMENT_TIMEOUT, StatementTimeout);

	plans = plan_statement(sql, revision, cxt, &tag);
	set_ps_display(GetCommandTagName(tag));
	portal = CreatePortal("", true, true);
	portal->visible = false;
	PortalDefineQuery(portal, NULL, sql, tag, plans, NULL);
	PortalStart(portal, NULL, 0, InvalidSnapshot);
	receiver = CreateDestReceiver(DestNone);
	InitializeQueryCompletion(&qc);
	(void) migrate_portal_run(portal, receiver, &qc);
	receiver->rDestroy(receiver);
	PortalDrop(portal, false);

	disable_timeout(STATEMENT_TIMEOUT, false);
	CommitTransactionCommand();
	debug_query_string = NULL;
	MemoryContextSwitchTo(cxt);
}

/*
 * The worker's entry point.  Its errors, from connecting on, go to the
 * leader through the queue: the bgworker's error path reports them
 * (EmitErrorReport) and exits with status 1.
 */
void
migrate_worker_main(Datum main_arg)
{
	dsm_segment *seg;
	shm_toc    *toc;
	shm_mq	   *mq;
	WorkerShared *shared;
	const char *revision;

	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	CurrentMemoryContext = AllocSetContextCreate(TopMemoryContext, "migrate worker",
												 ALLOCSET_DEFAULT_SIZES);

	/* no resource owner yet: the mapping lasts until the process exits */
	seg = dsm_attach(DatumGetUInt32(main_arg));
	if (seg == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("could not map the dynamic shared memory segment of a migrate worker")));
	toc = shm_toc_attach(WORKER_MAGIC, dsm_segment_address(seg));
	if (toc == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("invalid magic number in the dynamic shared memory segment of a migrate worker")));
	shared = shm_toc_lookup(toc, WORKER_KEY_SHARED, false);
	shared->worker_pid = MyProcPid;
	mq = shm_toc_lookup(toc, WORKER_KEY_QUEUE, false);
	shm_mq_set_sender(mq, MyProc);
	pq_redirect_to_shm_mq(seg, shm_mq_attach(mq, seg, NULL));
	revision = shm_toc_lookup(toc, WORKER_KEY_REVISION, false);

	/*
	 * As the user who logged in, who may log in (the session user may be
	 * one who may not, after SET SESSION AUTHORIZATION).  No
	 * BGWORKER_BYPASS_ALLOWCONN: the leader is connected to the database,
	 * and if connections to it were disallowed since, the worker obeys.
	 */
	BackgroundWorkerInitializeConnectionByOid(shared->database_id,
											  shared->authenticated_user_id, 0);
	adopt_leader_state(toc, shared);
	/* migrate's own functions refuse to run here */
	operation_forbid_nested();
	elog(DEBUG1, "migrate worker for PID %d running a statement of revision \"%s\"",
		 (int) shared->leader_pid, revision);

	run_at_top_level(shm_toc_lookup(toc, WORKER_KEY_SQL, false), revision);

	shared->succeeded = true;
	pg_memory_barrier();
	pgstat_report_activity(STATE_IDLE, NULL);
}
