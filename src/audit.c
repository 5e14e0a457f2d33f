/*
 * audit.c
 *		Rows of migrate.history and their hash chain.
 *
 * Each row's hash is SHA-256 over its own fields and the previous row's hash
 * (prev_hash), so an edited or deleted row breaks the chain.  Appends are
 * serialized by the deploy lock, so the chain is linear.  The serialization is
 * documented in README.md.
 */
#include "migrate.h"

#include "access/transam.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/timestamp.h"
#include "utils/xid8.h"

/*
 * The client's address as inet_client_addr()::text prints it (with its
 * netmask), or NULL over a Unix-domain socket.
 */
static char *
client_address(void)
{
	LOCAL_FCINFO(fcinfo, 0);
	Datum		addr;

	InitFunctionCallInfoData(*fcinfo, NULL, 0, InvalidOid, NULL, NULL);
	addr = inet_client_addr(fcinfo);
	if (fcinfo->isnull)
		return NULL;
	return TextDatumGetCString(DirectFunctionCall1(network_show, addr));
}

/*
 * The caller's identity as history rows record it: session and effective
 * role, application_name, client address and backend pid.
 */
void
audit_identity(AuditContext *ac)
{
	ac->session_role = GetUserNameFromId(GetSessionUserId(), false);
	ac->effective_role = GetUserNameFromId(GetUserId(), false);
	ac->application_name = (application_name && application_name[0]) ? pstrdup(application_name) : NULL;
	ac->client_addr = client_address();
	ac->backend_pid = MyProcPid;
}

/*
 * Starts an operation, or one more transaction of it: one operation_id for
 * all its rows (a new one when operation_id is 0), the caller's identity,
 * and the tip of the chain, read with a fresh snapshot.  Must run under the
 * deploy lock and before any catalog scope, so that GetUserId() is still the
 * caller.  DDL staged by the event triggers since the last call is moved
 * into the history first (ddlevent.c).
 */
void
audit_begin(AuditContext *ac, const char *operation, const char *target,
			int64 operation_id)
{
	memset(ac, 0, sizeof(AuditContext));
	ac->operation = operation;
	ac->target = target;
	audit_identity(ac);
	ac->operation_id = operation_id != 0 ? operation_id : catalog_next_operation_id();
	ac->have_prev = catalog_history_tip(&ac->prev_id, ac->prev_hash);
	ac->has_detail = catalog_history_has_detail();
	ddlevent_move(ac);
}

/*
 * The hash of a history row; the order of fields is part of the format
 * (README.md).  Shared by the writer and by migrate.verify().
 */
void
history_row_hash(const HistoryRow *row, char *hex_out)
{
	Digest	   *d = digest_begin("migrate history v1");

	digest_int64(d, row->operation_id);
	digest_text(d, row->operation);
	digest_text(d, row->revision);
	digest_text(d, row->target);
	digest_text(d, row->success ? "t" : "f");
	digest_text(d, row->sqlstate);
	digest_text(d, row->error);
	digest_int64(d, row->started_at);
	digest_int64(d, row->duration.month);
	digest_int64(d, row->duration.day);
	digest_int64(d, row->duration.time);
	digest_text(d, row->session_role);
	digest_text(d, row->effective_role);
	digest_text(d, row->application_name);
	digest_text(d, row->client_addr);
	digest_int64(d, row->backend_pid);
	digest_int64(d, (int64) row->txid);
	digest_text(d, row->checksum);
	digest_text(d, row->prev_hash);
	/* 1.1: a tagged field, only when present, so that 1.0 rows keep their hash */
	if (row->detail != NULL)
	{
		digest_text(d, "detail");
		digest_text(d, row->detail);
	}
	digest_end(d, hex_out);
}

/*
 * Inserts a history row.  detail_jsonb is the jsonb form of row->detail; a
 * database still at version 1.0 has no detail column and gets no detail.
 */
static void
history_insert(const HistoryRow *row, const char *hash, Datum detail_jsonb,
			   FullTransactionId fxid, bool has_detail)
{
	Oid			argtypes[19] = {INT8OID, TEXTOID, TEXTOID, TEXTOID, BOOLOID, TEXTOID,
		TEXTOID, TIMESTAMPTZOID, INTERVALOID, NAMEOID, NAMEOID, TEXTOID, TEXTOID,
	INT4OID, XID8OID, TEXTOID, TEXTOID, TEXTOID, JSONBOID};
	Datum		values[19];
	char		nulls[19];

	memset(nulls, ' ', sizeof(nulls));
	values[0] = Int64GetDatum(row->operation_id);
	values[1] = CStringGetTextDatum(row->operation);
	values[2] = CStringGetTextDatum(row->revision);
	values[3] = row->target ? CStringGetTextDatum(row->target) : (nulls[3] = 'n', (Datum) 0);
	values[4] = BoolGetDatum(row->success);
	values[5] = row->sqlstate ? CStringGetTextDatum(row->sqlstate) : (nulls[5] = 'n', (Datum) 0);
	values[6] = row->error ? CStringGetTextDatum(row->error) : (nulls[6] = 'n', (Datum) 0);
	values[7] = TimestampTzGetDatum(row->started_at);
	values[8] = interval_from_us(row->duration.time);
	values[9] = DirectFunctionCall1(namein, CStringGetDatum(row->session_role));
	values[10] = DirectFunctionCall1(namein, CStringGetDatum(row->effective_role));
	values[11] = row->application_name ? CStringGetTextDatum(row->application_name) : (nulls[11] = 'n', (Datum) 0);
	values[12] = row->client_addr ? CStringGetTextDatum(row->client_addr) : (nulls[12] = 'n', (Datum) 0);
	values[13] = Int32GetDatum(row->backend_pid);
	values[14] = FullTransactionIdGetDatum(fxid);
	values[15] = row->checksum ? CStringGetTextDatum(row->checksum) : (nulls[15] = 'n', (Datum) 0);
	values[16] = row->prev_hash ? CStringGetTextDatum(row->prev_hash) : (nulls[16] = 'n', (Datum) 0);
	values[17] = CStringGetTextDatum(hash);
	values[18] = row->detail ? detail_jsonb : (nulls[18] = 'n', (Datum) 0);

	if (has_detail)
		catalog_exec("INSERT INTO migrate.history (operation_id, operation, revision, target,"
					 " success, sqlstate, error, started_at, duration, session_role, effective_role,"
					 " application_name, client_addr, backend_pid, txid, checksum, prev_hash, hash, detail)"
					 " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12,"
					 " $13::pg_catalog.inet, $14, $15, $16, $17, $18, $19)",
					 19, argtypes, values, nulls, false, 0);
	else
		catalog_exec("INSERT INTO migrate.history (operation_id, operation, revision, target,"
					 " success, sqlstate, error, started_at, duration, session_role, effective_role,"
					 " application_name, client_addr, backend_pid, txid, checksum, prev_hash, hash)"
					 " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12,"
					 " $13::pg_catalog.inet, $14, $15, $16, $17, $18)",
					 18, argtypes, values, nulls, false, 0);
}

/*
 * Appends a history row made elsewhere (a staged drift event: its own
 * identity, time and transaction) and moves the chain's tip to it.
 * row->detail is JSON text as jsonb prints it.
 */
void
audit_append(AuditContext *ac, HistoryRow *row)
{
	char		hash[MIGRATE_HASH_HEXLEN + 1];
	Datum		detail_jsonb = (Datum) 0;

	if (row->detail != NULL)
		detail_jsonb = DirectFunctionCall1(jsonb_in, CStringGetDatum(row->detail));
	row->prev_hash = ac->have_prev ? ac->prev_hash : NULL;
	history_row_hash(row, hash);
	history_insert(row, hash, detail_jsonb, FullTransactionIdFromU64(row->txid), ac->has_detail);
	memcpy(ac->prev_hash, hash, sizeof(hash));
	ac->have_prev = true;
}

/*
 * Appends one history row and moves the chain's tip to it.  detail is JSON
 * text (add and replace rows) or NULL; it is stored and hashed as jsonb
 * prints it.
 */
void
audit_record(AuditContext *ac, const char *revision, bool success,
			 const char *sqlstate, const char *error,
			 TimestampTz started_at, int64 duration_us, const char *checksum,
			 const char *detail)
{
	FullTransactionId fxid = GetTopFullTransactionId();
	HistoryRow	row;

	if (detail != NULL && ac->has_detail)
		detail = DatumGetCString(DirectFunctionCall1(jsonb_out,
													 DirectFunctionCall1(jsonb_in, CStringGetDatum(detail))));
	else
		detail = NULL;

	row.operation_id = ac->operation_id;
	row.operation = ac->operation;
	row.revision = revision;
	row.target = ac->target;
	row.success = success;
	row.sqlstate = sqlstate;
	row.error = error;
	row.started_at = started_at;
	memset(&row.duration, 0, sizeof(Interval));
	row.duration.time = duration_us;
	row.session_role = ac->session_role;
	row.effective_role = ac->effective_role;
	row.application_name = ac->application_name;
	row.client_addr = ac->client_addr;
	row.backend_pid = ac->backend_pid;
	row.txid = U64FromFullTransactionId(fxid);
	row.checksum = checksum;
	row.detail = detail;
	audit_append(ac, &row);
}
