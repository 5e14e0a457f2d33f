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
#define WORKER_KEY_QUEUE		3	/* worker to leader */
#define WORKER_KEY_STATEMENTS	4	/* leader to worker */
#define WORKER_NKEYS			5

/*
 * The queue from the worker to the leader.  Large enough for a usual error
 * with its context, so that a failing worker can exit without waiting for
 * the leader to read; longer messages pass through it in parts.
 */
#define WORKER_QUEUE_SIZE		16384

/* The queue of statements from the leader; a longer one passes in parts. */
#define WORKER_STATEMENT_QUEUE_SIZE	16384

/* The worker's message saying that its statement committed. */
#define WORKER_MSG_DONE			'C'
#define WORKER_MSG_TOUCHED		'R'	/* what the statement touched (drifttouch.c) */

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
} WorkerShared;

/*
 * The leader's worker: started for a deploy's first statement that must run
 * at top level, it runs the deploy's next ones too (one process start and
 * one warm-up of its memory per deploy), idle between them, outside any
 * transaction.  Everything lives in TopMemoryContext and the segment's
 * mapping is pinned: the deploy commits between statements.
 */
typedef struct WorkerSession
{
	dsm_segment *seg;
	WorkerShared *shared;
	shm_mq_handle *to_worker;
	shm_mq_handle *from_worker;
	BackgroundWorkerHandle *handle;
} WorkerSession;

static WorkerSession *session = NULL;

/* What the leader's error context line names. */
typedef struct WorkerContext
{
	volatile WorkerShared *shared;	/* NULL once the segment is gone */
	int			worker_pid;		/* then, the pid it held */
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
}

/*
 * Creates the segment with everything the worker needs, attaches the leader
 * to both queues, and pins the mapping for the session.
 */
static void
create_segment(WorkerSession *ws)
{
	shm_toc_estimator e;
	Size		library_len = EstimateLibraryStateSpace();
	Size		guc_len = EstimateGUCStateSpace();
	Size		segsize;
	shm_toc    *toc;
	char	   *space;
	shm_mq	   *mq;

	shm_toc_initialize_estimator(&e);
	shm_toc_estimate_chunk(&e, sizeof(WorkerShared));
	shm_toc_estimate_chunk(&e, library_len);
	shm_toc_estimate_chunk(&e, guc_len);
	shm_toc_estimate_chunk(&e, WORKER_QUEUE_SIZE);
	shm_toc_estimate_chunk(&e, WORKER_STATEMENT_QUEUE_SIZE);
	shm_toc_estimate_keys(&e, WORKER_NKEYS);
	segsize = shm_toc_estimate(&e);

	ws->seg = dsm_create(segsize, 0);
	dsm_pin_mapping(ws->seg);
	toc = shm_toc_create(WORKER_MAGIC, dsm_segment_address(ws->seg), segsize);

	ws->shared = shm_toc_allocate(toc, sizeof(WorkerShared));
	fill_shared(ws->shared);
	shm_toc_insert(toc, WORKER_KEY_SHARED, ws->shared);

	space = shm_toc_allocate(toc, library_len);
	SerializeLibraryState(library_len, space);
	shm_toc_insert(toc, WORKER_KEY_LIBRARIES, space);

	space = shm_toc_allocate(toc, guc_len);
	SerializeGUCState(guc_len, space);
	shm_toc_insert(toc, WORKER_KEY_GUC, space);

	mq = shm_mq_create(shm_toc_allocate(toc, WORKER_QUEUE_SIZE), WORKER_QUEUE_SIZE);
	shm_toc_insert(toc, WORKER_KEY_QUEUE, mq);
	shm_mq_set_receiver(mq, MyProc);
	ws->from_worker = shm_mq_attach(mq, ws->seg, NULL);

	mq = shm_mq_create(shm_toc_allocate(toc, WORKER_STATEMENT_QUEUE_SIZE),
					   WORKER_STATEMENT_QUEUE_SIZE);
	shm_toc_insert(toc, WORKER_KEY_STATEMENTS, mq);
	shm_mq_set_sender(mq, MyProc);
	ws->to_worker = shm_mq_attach(mq, ws->seg, NULL);
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
 * Waits for the worker to start.  A worker already stopped may have failed
 * as it started: its queue says why, as for any worker.
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
	int			pid = wc->shared != NULL ? (int) wc->shared->worker_pid : wc->worker_pid;

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
 * Reads the worker's messages until it says its statement is done (*done),
 * or detaches from the queue.  Notices are passed on at once; the first
 * error is returned, to be raised once the worker is gone.
 */
static ErrorData *
receive_messages(shm_mq_handle *mqh, const char *sql, WorkerContext *wc, bool *done)
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
		if (msgtype == WORKER_MSG_TOUCHED)
		{
			const char *touched = pq_getmsgstring(&msg);

			MemoryContextSwitchTo(caller_cxt);
			if (drift_collector != NULL)
				drifttouch_deserialize(drift_collector, touched);
			continue;
		}
		if (msgtype == WORKER_MSG_DONE && error == NULL)
		{
			*done = true;
			MemoryContextSwitchTo(caller_cxt);
			break;
		}
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

/* Stops the session's worker if it runs, and forgets the session. */
static void
session_stop(bool terminate)
{
	WorkerSession *ws = session;

	if (ws == NULL)
		return;
	session = NULL;
	running_worker = NULL;
	if (terminate)
		stop_worker(ws->handle);
	else
	{
		/* its queue of statements ends: the worker exits of itself */
		shm_mq_detach(ws->to_worker);
		HOLD_INTERRUPTS();
		(void) WaitForBackgroundWorkerShutdown(ws->handle);
		RESUME_INTERRUPTS();
	}
	dsm_detach(ws->seg);
	pfree(ws->handle);
	pfree(ws);
}

/* Starts the session's worker: its segment, its registration, its start. */
static void
session_start(const char *revision)
{
	MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
	WorkerSession *ws = palloc0(sizeof(WorkerSession));

	create_segment(ws);
	MemoryContextSwitchTo(old);
	PG_TRY();
	{
		MemoryContextSwitchTo(TopMemoryContext);
		ws->handle = register_worker(ws->seg, revision);
		MemoryContextSwitchTo(old);
		shm_mq_set_handle(ws->from_worker, ws->handle);
		shm_mq_set_handle(ws->to_worker, ws->handle);
		session = ws;
		arm_exit_callback(ws->handle);
		wait_for_start(ws->handle, revision);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(old);
		if (session == NULL)
		{
			dsm_detach(ws->seg);
			pfree(ws);
		}
		else
			session_stop(true);
		PG_RE_THROW();
	}
	PG_END_TRY();
}

/* Sends a statement to the session's worker: its line, its revision, its text. */
static void
session_send(const char *sql, const char *revision, int line)
{
	StringInfoData msg;
	int32		line32 = line;

	initStringInfo(&msg);
	appendBinaryStringInfo(&msg, (char *) &line32, sizeof(line32));
	appendBinaryStringInfo(&msg, revision, strlen(revision) + 1);
	appendBinaryStringInfo(&msg, sql, strlen(sql) + 1);
	if (shm_mq_send(session->to_worker, msg.len, msg.data, false, true) != SHM_MQ_SUCCESS)
		ereport(ERROR,
				(errcode(ERRCODE_ADMIN_SHUTDOWN),
				 errmsg("background worker for revision \"%s\" ended before it could run a statement",
						revision)));
	pfree(msg.data);
}

/*
 * Waits until the worker has run the statement; raises its error (once it
 * is gone), or fails if it ended without finishing.
 */
static void
session_wait(const char *sql, WorkerContext *wc)
{
	bool		done = false;
	ErrorData  *error = receive_messages(session->from_worker, sql, wc, &done);

	if (done)
		return;
	/* its queue is detached: wait until it is gone, and its locks with it */
	wc->worker_pid = (int) session->shared->worker_pid;
	wc->shared = NULL;
	session_stop(false);
	if (error != NULL)
		raise_from_worker(error, sql, wc);
	ereport(ERROR,
			(errcode(ERRCODE_ADMIN_SHUTDOWN),
			 errmsg("background worker running revision \"%s\" ended without finishing its statement",
					wc->revision),
			 errdetail("The worker exited without reporting an error; the server log may say why.")));
}

/*
 * Runs sql, one statement already checked by the parser, at top level in a
 * background worker, as the caller's role with the caller's settings, and
 * waits for it.  The worker is started for the first statement and runs the
 * next ones of the same deploy, until worker_session_end().  The worker's
 * notices reach the caller as they come; its error is raised here with its
 * SQLSTATE, message, detail, hint and context, and ends the worker.
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

	if (session == NULL)
		session_start(revision);
	wc.shared = session->shared;
	wc.worker_pid = 0;
	wc.line = line;
	wc.revision = revision;
	PG_TRY();
	{
		session_send(sql, revision, line);
		session_wait(sql, &wc);
	}
	PG_CATCH();
	{
		/* a cancel or a timeout here, or the worker's error: no worker is left */
		session_stop(true);
		PG_RE_THROW();
	}
	PG_END_TRY();
}

/*
 * Ends the worker of a deploy, if one was started: called when the deploy
 * ends, whether it succeeded or not.
 */
void
worker_session_end(void)
{
	session_stop(false);
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

/* Sends the leader what the statement touched, when drift is tracked. */
static void
send_touched(void)
{
	StringInfoData msg;

	if (drift_collector == NULL)
		return;
	pq_beginmessage(&msg, WORKER_MSG_TOUCHED);
	pq_sendstring(&msg, drifttouch_serialize(drift_collector));
	pq_endmessage(&msg);
	drift_collector = NULL;
}

/*
 * Receives the leader's next statement; false when the leader has ended the
 * queue (its deploy is over).
 */
static bool
receive_statement(shm_mq_handle *mqh, int *line, const char **revision, const char **sql)
{
	Size		nbytes;
	void	   *data;
	int32		line32;

	if (shm_mq_receive(mqh, &nbytes, &data, false) != SHM_MQ_SUCCESS)
		return false;
	if (nbytes < sizeof(line32) + 2 || ((char *) data)[nbytes - 1] != '\0')
		elog(ERROR, "malformed statement message of %zu bytes in a migrate worker", nbytes);
	memcpy(&line32, data, sizeof(line32));
	*line = line32;
	*revision = pstrdup((char *) data + sizeof(line32));
	*sql = pstrdup((char *) data + sizeof(line32) + strlen(*revision) + 1);
	return true;
}

/*
 * The worker's entry point.  Its errors, from connecting on, go to the
 * leader through the queue: the bgworker's error path reports them
 * (EmitErrorReport) and exits with status 1.  Between statements it waits,
 * idle, outside any transaction and without a snapshot.
 */
void
migrate_worker_main(Datum main_arg)
{
	dsm_segment *seg;
	shm_toc    *toc;
	shm_mq	   *mq;
	shm_mq_handle *statements;
	WorkerShared *shared;
	MemoryContext statement_cxt;
	int			line;
	const char *revision;
	const char *sql;

	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	/* it runs nothing but revisions' statements: none of its DDL is drift */
	migrate_in_revision = true;
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
	mq = shm_toc_lookup(toc, WORKER_KEY_STATEMENTS, false);
	shm_mq_set_receiver(mq, MyProc);
	statements = shm_mq_attach(mq, seg, NULL);

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

	statement_cxt = AllocSetContextCreate(CurrentMemoryContext, "migrate worker statement",
										  ALLOCSET_DEFAULT_SIZES);
	for (;;)
	{
		StringInfoData done;

		pgstat_report_activity(STATE_IDLE, NULL);
		MemoryContextReset(statement_cxt);
		MemoryContextSwitchTo(statement_cxt);
		if (!receive_statement(statements, &line, &revision, &sql))
			break;
		elog(DEBUG1, "migrate worker for PID %d running line %d of revision \"%s\"",
			 (int) shared->leader_pid, line, revision);
		/* what the statement touches goes to the leader's recorded model */
		drift_collector = migrate_track_drift ? drifttouch_new(statement_cxt) : NULL;
		run_at_top_level(sql, revision);
		send_touched();
		pq_beginmessage(&done, WORKER_MSG_DONE);
		pq_endmessage(&done);
	}
}
