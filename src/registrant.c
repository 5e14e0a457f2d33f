/*
 * registrant.c
 *		The registrant rule, and approvals: for whom a revision's SQL may run.
 *
 * A revision runs only for a caller whose privileges its registrant
 * (created_by) also holds, so that nobody can plant SQL for a more
 * privileged role to run (SPEC section 7).  A role that holds the
 * registrant's privileges may review the revision and approve it with
 * migrate.approve(): the approval is a history row (hash-chained like every
 * row) naming the approver and the checksum approved, and the revision then
 * runs for any caller whose privileges the approver holds.  Any later add
 * replace, amendment or repair of the revision voids the approval, as does a changed checksum.
 */
#include "migrate.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

/*
 * Whether a standing approval of the revision's current checksum, by a role
 * whose privileges include the caller's, lets it run for the caller.
 */
static bool
approved_for(Revision *r, Oid caller)
{
	Oid			argtypes[2] = {TEXTOID, TEXTOID};
	Datum		values[2];
	bool		approved = false;

	values[0] = CStringGetTextDatum(r->id);
	values[1] = CStringGetTextDatum(r->checksum);
	catalog_exec("SELECT h.effective_role FROM migrate.history h"
				 " WHERE h.revision = $1 AND h.operation = 'approve' AND h.success AND h.checksum = $2"
				 "   AND h.id > COALESCE((SELECT max(a.id) FROM migrate.history a"
				 "                        WHERE a.revision = $1 AND a.operation = ANY ('{add,replace,amend,repair}')), 0)",
				 2, argtypes, values, NULL, false, 0);
	for (uint64 i = 0; i < SPI_processed && !approved; i++)
	{
		char	   *approver = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
		Oid			approver_oid = get_role_oid(approver, true);

		approved = OidIsValid(approver_oid) && has_privs_of_role(approver_oid, caller);
	}
	SPI_freetuptable(SPI_tuptable);
	return approved;
}

/*
 * Refuses, before anything runs, a revision added by a role that lacks the
 * caller's privileges and not approved for the caller.
 */
void
check_registrants(Graph *g, StepPlan *plan)
{
	Oid			caller = GetUserId();

	for (int i = 0; i < plan->nsteps; i++)
	{
		Revision   *r = &g->revs[plan->steps[i]];
		Oid			registrant = get_role_oid(r->created_by, true);

		CHECK_FOR_INTERRUPTS();
		if (OidIsValid(registrant) && has_privs_of_role(registrant, caller))
			continue;
		if (approved_for(r, caller))
			continue;
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("revision \"%s\" was added by role \"%s\", which lacks the privileges of role \"%s\"",
						r->id, r->created_by, GetUserNameFromId(caller, false)),
				 errdetail("A revision's SQL runs only for roles whose privileges its registrant also holds, "
						   "or after a role with the caller's privileges has approved it, so that nobody can plant SQL "
						   "for a more privileged role to run."),
				 errhint("Review the revision with migrate.show() and approve it with migrate.approve('%s', checksum), then run the operation again.",
						 r->id)));
	}
}

/* The checksum and registrant of a revision, by full id. */
static void
approval_subject(const char *id, char **checksum, char **created_by)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(id)};

	catalog_exec("SELECT r.checksum, r.created_by::pg_catalog.text FROM migrate.revision r WHERE r.id = $1",
				 1, argtypes, values, NULL, false, 1);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("revision \"%s\" does not exist", id),
				 errhint("Pass the full revision id to migrate.approve().")));
	*checksum = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	*created_by = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	SPI_freetuptable(SPI_tuptable);
}

PG_FUNCTION_INFO_V1(migrate_approve);

/*
 * migrate.approve(revision, checksum): records that the calling role, which
 * holds the registrant's privileges, approves the revision as it is now.
 * Returns the checksum approved.
 */
Datum
migrate_approve(PG_FUNCTION_ARGS)
{
	char	   *id;
	char	   *expected = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));
	char	   *checksum;
	char	   *created_by;
	Oid			approver = GetUserId();
	Oid			registrant;
	AuditContext ac;
	MemoryContext fn_cxt = CurrentMemoryContext;
	text	   *result;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("revision id must not be null")));
	id = text_to_cstring(PG_GETARG_TEXT_PP(0));
	validate_name(id, NAME_REVISION_ID);

	operation_begin("migrate.approve()", 0);
	audit_begin(&ac, "approve", NULL, 0);

	approval_subject(id, &checksum, &created_by);
	if (expected != NULL && strcmp(expected, checksum) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("revision \"%s\" has changed since it was reviewed", id),
				 errdetail("Its checksum is %s, not %s.", checksum, expected),
				 errhint("Review it again with migrate.show('%s').", id)));
	registrant = get_role_oid(created_by, true);
	if (!OidIsValid(registrant) || !has_privs_of_role(approver, registrant))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("role \"%s\" cannot approve revision \"%s\"",
						GetUserNameFromId(approver, false), id),
				 errdetail("An approver must hold the privileges of the revision's registrant, role \"%s\".",
						   created_by)));

	audit_record(&ac, id, true, NULL, NULL, GetCurrentTimestamp(), 0, checksum, NULL);
	MemoryContextSwitchTo(fn_cxt);
	result = cstring_to_text(checksum);

	operation_end(0);
	PG_RETURN_TEXT_P(result);
}
