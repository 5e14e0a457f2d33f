/*
 * txblock.c
 *		Which statements cannot run inside a transaction block, decided from
 *		the raw parse tree as PostgreSQL 15 decides it.  Each case mirrors a
 *		caller of PreventInTransactionBlock() in the server, named in its
 *		comment, with the same options and defaults, and returns the tag that
 *		the server's own error names.  migrate runs a revision's SQL inside a
 *		transaction, so add() refuses these statements (25001).
 *
 *		Where the server decides from the catalogs when the statement runs:
 *		- DROP SUBSCRIPTION refuses only a subscription that has a replication
 *		  slot.  It is refused here unless an earlier statement of the same
 *		  SQL left the subscription without one (slot_name = NONE): most
 *		  subscriptions have a slot.
 *		- REINDEX TABLE, REINDEX INDEX and CLUSTER ... USING refuse a
 *		  partitioned table or index.  They are accepted here, as most tables
 *		  are not partitioned; the server reports 25001 when the revision runs.
 *		A statement that the server refuses for an invalid option value, in a
 *		transaction block or not, is left to the server's own error.
 *
 *		PostgreSQL 16 adds no form; 17 adds ALTER SUBSCRIPTION ... SET
 *		(failover) and 18 ALTER SUBSCRIPTION ... SET (two_phase = false),
 *		mirrored below for builds against those versions.
 */
#include "migrate.h"

#include "commands/defrem.h"
#include "nodes/parsenodes.h"

/* The last option of that name in a DefElem list, or NULL. */
static DefElem *
find_option(List *options, const char *name)
{
	DefElem    *found = NULL;
	ListCell   *lc;

	foreach(lc, options)
	{
		DefElem    *opt = lfirst_node(DefElem, lc);

		if (strcmp(opt->defname, name) == 0)
			found = opt;
	}
	return found;
}

/*
 * A boolean option as the server's defGetBoolean() reads it: 1 or 0, absent
 * when the option is not given, or -1 for a value defGetBoolean() refuses.
 */
static int
option_boolean(List *options, const char *name, int absent)
{
	DefElem    *opt = find_option(options, name);
	char	   *value;

	if (opt == NULL)
		return absent;
	if (opt->arg == NULL)
		return 1;
	if (IsA(opt->arg, Integer))
		return intVal(opt->arg) == 0 || intVal(opt->arg) == 1 ? intVal(opt->arg) : -1;
	value = defGetString(opt);
	if (pg_strcasecmp(value, "true") == 0 || pg_strcasecmp(value, "on") == 0)
		return 1;
	if (pg_strcasecmp(value, "false") == 0 || pg_strcasecmp(value, "off") == 0)
		return 0;
	return -1;
}

/*
 * Transaction control: SPI refuses every kind (SPI_ERROR_TRANSACTION), and
 * standard_ProcessUtility() refuses COMMIT PREPARED and ROLLBACK PREPARED in
 * a transaction block.
 */
static const char *
transaction_control_tag(TransactionStmt *stmt)
{
	switch (stmt->kind)
	{
		case TRANS_STMT_BEGIN:
			return "BEGIN";
		case TRANS_STMT_START:
			return "START TRANSACTION";
		case TRANS_STMT_COMMIT:
			return "COMMIT";
		case TRANS_STMT_ROLLBACK:
			return "ROLLBACK";
		case TRANS_STMT_SAVEPOINT:
			return "SAVEPOINT";
		case TRANS_STMT_RELEASE:
			return "RELEASE SAVEPOINT";
		case TRANS_STMT_ROLLBACK_TO:
			return "ROLLBACK TO SAVEPOINT";
		case TRANS_STMT_PREPARE:
			return "PREPARE TRANSACTION";
		case TRANS_STMT_COMMIT_PREPARED:
			return "COMMIT PREPARED";
		case TRANS_STMT_ROLLBACK_PREPARED:
			return "ROLLBACK PREPARED";
	}
	return "transaction control";
}

/*
 * ExecReindex(): CONCURRENTLY (an option that may also be written
 * "(CONCURRENTLY false)"), and SCHEMA, SYSTEM and DATABASE, which reindex
 * table after table in transactions of their own.
 */
static const char *
reindex_tag(ReindexStmt *stmt)
{
	int			concurrently = option_boolean(stmt->params, "concurrently", 0);

	if (concurrently < 0)
		return NULL;
	if (concurrently)
		return "REINDEX CONCURRENTLY";
	switch (stmt->kind)
	{
		case REINDEX_OBJECT_SCHEMA:
			return "REINDEX SCHEMA";
		case REINDEX_OBJECT_SYSTEM:
			return "REINDEX SYSTEM";
		case REINDEX_OBJECT_DATABASE:
			return "REINDEX DATABASE";
		default:
			return NULL;
	}
}

/* ProcessUtilitySlow(): ALTER TABLE ... DETACH PARTITION ... CONCURRENTLY. */
static const char *
alter_table_tag(AlterTableStmt *stmt)
{
	ListCell   *lc;

	foreach(lc, stmt->cmds)
	{
		AlterTableCmd *cmd = lfirst_node(AlterTableCmd, lc);

		if (cmd->subtype == AT_DetachPartition && ((PartitionCmd *) cmd->def)->concurrent)
			return "ALTER TABLE ... DETACH CONCURRENTLY";
	}
	return NULL;
}

/* The statements whose refusal depends on the statement alone, subscriptions aside. */
static const char *
utility_tag(Node *stmt)
{
	switch (nodeTag(stmt))
	{
		case T_TransactionStmt:
			return transaction_control_tag((TransactionStmt *) stmt);
		case T_VacuumStmt:
			/* vacuum(): VACUUM, with or without ANALYZE; ANALYZE alone runs */
			return ((VacuumStmt *) stmt)->is_vacuumcmd ? "VACUUM" : NULL;
		case T_CreatedbStmt:
			/* standard_ProcessUtility(), as for the four below */
			return "CREATE DATABASE";
		case T_DropdbStmt:
			return "DROP DATABASE";
		case T_CreateTableSpaceStmt:
			return "CREATE TABLESPACE";
		case T_DropTableSpaceStmt:
			return "DROP TABLESPACE";
		case T_AlterSystemStmt:
			return "ALTER SYSTEM";
		case T_AlterDatabaseStmt:
			/* AlterDatabase(): SET TABLESPACE (or WITH TABLESPACE) moves files */
			return find_option(((AlterDatabaseStmt *) stmt)->options, "tablespace") ?
				"ALTER DATABASE SET TABLESPACE" : NULL;
		case T_IndexStmt:
			/* ProcessUtilitySlow() */
			return ((IndexStmt *) stmt)->concurrent ? "CREATE INDEX CONCURRENTLY" : NULL;
		case T_DropStmt:
			/* ExecDropStmt() */
			return ((DropStmt *) stmt)->removeType == OBJECT_INDEX &&
				((DropStmt *) stmt)->concurrent ? "DROP INDEX CONCURRENTLY" : NULL;
		case T_ReindexStmt:
			return reindex_tag((ReindexStmt *) stmt);
		case T_ClusterStmt:
			/* cluster(): without a table, every clustered table, one at a time */
			return ((ClusterStmt *) stmt)->relation == NULL ? "CLUSTER" : NULL;
		case T_DiscardStmt:
			/* DiscardAll() */
			return ((DiscardStmt *) stmt)->target == DISCARD_ALL ? "DISCARD ALL" : NULL;
		case T_AlterTableStmt:
			return alter_table_tag((AlterTableStmt *) stmt);
		default:
			return NULL;
	}
}

/*
 * ALTER SUBSCRIPTION ... SET (...) forms that alter the replication slot on
 * the publisher: none in PostgreSQL 15 and 16.
 */
static const char *
subscription_options_tag(List *options)
{
#if PG_VERSION_NUM >= 170000
	/* AlterSubscription() (17), CheckAlterSubOption() (18): failover */
	if (option_boolean(options, "failover", -1) >= 0)
		return "ALTER SUBSCRIPTION ... SET (failover)";
#endif
#if PG_VERSION_NUM >= 180000
	/* CheckAlterSubOption() (18): two_phase = false */
	if (option_boolean(options, "two_phase", -1) == 0)
		return "ALTER SUBSCRIPTION ... SET (two_phase)";
#endif
	(void) options;
	return NULL;
}

/*
 * Subscription statements that create, change or drop a replication slot on
 * the publisher, which no rollback undoes (commands/subscriptioncmds.c).
 * slotless lists the subscriptions that earlier statements left without a
 * slot.
 */
static const char *
subscription_tag(Node *stmt, List *slotless, const char **hint)
{
	if (IsA(stmt, CreateSubscriptionStmt))
	{
		List	   *options = ((CreateSubscriptionStmt *) stmt)->options;

		/* CreateSubscription(): create_slot, true unless connect = false */
		if (option_boolean(options, "connect", 1) == 1 &&
			option_boolean(options, "create_slot", 1) == 1)
		{
			*hint = "Create it WITH (connect = false), or WITH (create_slot = false) with a slot made outside migrate.";
			return "CREATE SUBSCRIPTION ... WITH (create_slot = true)";
		}
	}
	else if (IsA(stmt, AlterSubscriptionStmt))
	{
		AlterSubscriptionStmt *alter = (AlterSubscriptionStmt *) stmt;

		/* AlterSubscription(): REFRESH PUBLICATION, whatever copy_data says */
		if (alter->kind == ALTER_SUBSCRIPTION_REFRESH)
		{
			*hint = "Refresh the subscription outside migrate.";
			return "ALTER SUBSCRIPTION ... REFRESH";
		}
		/* AlterSubscription(): SET, ADD and DROP PUBLICATION, unless refresh = false */
		if ((alter->kind == ALTER_SUBSCRIPTION_SET_PUBLICATION ||
			 alter->kind == ALTER_SUBSCRIPTION_ADD_PUBLICATION ||
			 alter->kind == ALTER_SUBSCRIPTION_DROP_PUBLICATION) &&
			option_boolean(alter->options, "refresh", 1) == 1)
		{
			*hint = "Add WITH (refresh = false), and refresh the subscription outside migrate.";
			return "ALTER SUBSCRIPTION with refresh";
		}
		if (alter->kind == ALTER_SUBSCRIPTION_OPTIONS)
			return subscription_options_tag(alter->options);
	}
	else if (IsA(stmt, DropSubscriptionStmt))
	{
		char	   *name = ((DropSubscriptionStmt *) stmt)->subname;

		/* DropSubscription(): when the subscription has a slot */
		if (!list_member(slotless, makeString(name)))
		{
			*hint = "Earlier in the same SQL, disable the subscription and set its slot_name to NONE; "
				"its replication slot then stays on the publisher, to be dropped there.";
			return "DROP SUBSCRIPTION";
		}
	}
	return NULL;
}

/* Whether subscription options set slot_name = NONE, as parse_subscription_options() reads it. */
static bool
sets_no_slot(List *options)
{
	DefElem    *opt = find_option(options, "slot_name");

	return opt != NULL && opt->arg != NULL && strcmp(defGetString(opt), "none") == 0;
}

/* Records in slotless whether a subscription is now without a slot. */
static void
set_slotless(List **slotless, char *name, bool without_slot)
{
	*slotless = list_delete(*slotless, makeString(name));
	if (without_slot)
		*slotless = lappend(*slotless, makeString(name));
}

/* Follows what a statement leaves a subscription with: a slot or none. */
static void
track_slots(Node *stmt, List **slotless)
{
	if (IsA(stmt, CreateSubscriptionStmt))
		set_slotless(slotless, ((CreateSubscriptionStmt *) stmt)->subname,
					 sets_no_slot(((CreateSubscriptionStmt *) stmt)->options));
	else if (IsA(stmt, AlterSubscriptionStmt))
	{
		AlterSubscriptionStmt *alter = (AlterSubscriptionStmt *) stmt;

		if (alter->kind == ALTER_SUBSCRIPTION_OPTIONS &&
			find_option(alter->options, "slot_name") != NULL)
			set_slotless(slotless, alter->subname, sets_no_slot(alter->options));
	}
	else if (IsA(stmt, DropSubscriptionStmt))
		set_slotless(slotless, ((DropSubscriptionStmt *) stmt)->subname, false);
	else if (IsA(stmt, RenameStmt) && ((RenameStmt *) stmt)->renameType == OBJECT_SUBSCRIPTION)
	{
		RenameStmt *rename = (RenameStmt *) stmt;
		bool		without_slot = list_member(*slotless, rename->object);

		set_slotless(slotless, strVal(rename->object), false);
		set_slotless(slotless, rename->newname, without_slot);
	}
}

/*
 * The tag of a statement that cannot run inside a transaction block, or
 * NULL; *hint is set to a hint for some.  Called on a revision's statements
 * in order, with the same *slotless (NIL at first), which it keeps up to date.
 */
const char *
outside_transaction_only(Node *stmt, List **slotless, const char **hint)
{
	const char *tag;
	ListCell   *lc;

	*hint = NULL;
	tag = utility_tag(stmt);
	if (tag == NULL)
		tag = subscription_tag(stmt, *slotless, hint);
	/* CREATE SCHEMA runs its CREATE INDEX elements as statements of their own */
	if (tag == NULL && IsA(stmt, CreateSchemaStmt))
		foreach(lc, ((CreateSchemaStmt *) stmt)->schemaElts)
		{
			tag = outside_transaction_only(lfirst(lc), slotless, hint);
			if (tag != NULL)
				break;
		}
	if (tag == NULL)
		track_slots(stmt, slotless);
	return tag;
}
