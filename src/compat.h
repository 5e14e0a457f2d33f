/*
 * compat.h
 *		Shims for the server APIs that differ between the PostgreSQL major
 *		versions migrate builds against (15 and later).
 *
 * Every other file calls these rather than the version-specific API, so a
 * new major version needs changes here only.  Each branch is written as the
 * server headers of that version declare the API; which versions were
 * compiled and tested, and which were only read, is in README.md
 * ("PostgreSQL versions").
 */
#ifndef MIGRATE_COMPAT_H
#define MIGRATE_COMPAT_H

#include "postgres.h"

#include "storage/lock.h"
#include "storage/proc.h"
#include "tcop/pquery.h"
#include "utils/backend_status.h"

#if PG_VERSION_NUM < 150000
#error "migrate needs PostgreSQL 15 or later"
#endif

/* 17 declares ProcNumberGetProc() in procarray.h; 15-16 BackendIdGetProc() in sinvaladt.h */
#if PG_VERSION_NUM >= 170000
#include "storage/procarray.h"
#else
#include "storage/sinvaladt.h"
#endif

/*
 * The local id of this backend's current top-level transaction, which tells
 * one transaction of the session from the next.
 */
static inline LocalTransactionId
migrate_local_xid(void)
{
	/* 17 moved PGPROC.lxid into PGPROC.vxid */
#if PG_VERSION_NUM >= 170000
	return MyProc->vxid.lxid;
#else
	return MyProc->lxid;
#endif
}

/* The PGPROC of the backend running a virtual transaction, or NULL. */
static inline PGPROC *
migrate_vxid_proc(VirtualTransactionId vxid)
{
	/* 17 replaced BackendId and vxid.backendId with ProcNumber and vxid.procNumber */
#if PG_VERSION_NUM >= 170000
	return ProcNumberGetProc(vxid.procNumber);
#else
	return BackendIdGetProc(vxid.backendId);
#endif
}

/*
 * Entry idx (1 to pgstat_fetch_stat_numbackends()) of this transaction's
 * snapshot of the backend status array, or NULL.
 */
static inline LocalPgBackendStatus *
migrate_local_beentry(int idx)
{
	/* 16.0 renamed pgstat_fetch_stat_local_beentry() (16beta1 still had the old name) */
#if PG_VERSION_NUM >= 160000
	return pgstat_get_local_beentry_by_index(idx);
#else
	return pgstat_fetch_stat_local_beentry(idx);
#endif
}

/*
 * Runs a portal to its end as a top-level statement, sending its rows (if
 * any) to dest.
 */
static inline bool
migrate_portal_run(Portal portal, DestReceiver *dest, QueryCompletion *qc)
{
	/* 18 dropped PortalRun()'s run_once argument */
#if PG_VERSION_NUM >= 180000
	return PortalRun(portal, FETCH_ALL, true, dest, dest, qc);
#else
	return PortalRun(portal, FETCH_ALL, true, true, dest, dest, qc);
#endif
}

#endif							/* MIGRATE_COMPAT_H */
