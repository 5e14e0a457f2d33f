/*
 * migrate.h
 *		Declarations shared by the files of the migrate extension.
 *
 * The revision graph lives in migrate.revision; the applied set in
 * migrate.applied; the audit log in migrate.history.  Every state-changing
 * call takes the deploy lock, loads what it needs through catalog.c, and
 * writes history rows through audit.c.
 */
#ifndef MIGRATE_H
#define MIGRATE_H

#include "postgres.h"

#include "compat.h"

#include "catalog/objectaddress.h"
#include "datatype/timestamp.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "nodes/parsenodes.h"
#include "utils/array.h"
#include "utils/hsearch.h"

/* "migrate\x01" as a big-endian bigint; see migrate.lock_key(). */
#define MIGRATE_LOCK_KEY	INT64CONST(7883946363647714561)
/* "migrate\x02": the step lock, held while a revision runs outside a transaction (lock.c) */
#define MIGRATE_STEP_LOCK_KEY	INT64CONST(7883946363647714562)

#define MIGRATE_ID_MAXLEN	128
#define MIGRATE_HASH_HEXLEN 64

/*
 * The most names one list may hold: parents, depends_on, branch_labels (and
 * the header lists of a migration file), and the revisions of one merge.
 * Every list is checked against it before any per-name work, so that no call
 * holds the deploy lock for long on a list no migration needs (README,
 * "Semantics").
 */
#define MIGRATE_MAX_LIST_NAMES	10000

/* digest.c: SHA-256 over a canonical, length-prefixed serialization */
typedef struct Digest Digest;
extern Digest *digest_begin(const char *domain);
extern void digest_text(Digest *d, const char *s);
extern void digest_bytes(Digest *d, const char *s, size_t len);
extern void digest_null(Digest *d);
extern void digest_strings(Digest *d, char **elems, int n);
extern void digest_int64(Digest *d, int64 v);
extern void digest_end(Digest *d, char *hex_out);	/* MIGRATE_HASH_HEXLEN + 1 */
extern void digest_object3(const char *domain, const char *a, const char *b,
						   const char *c, uint8 *raw);	/* 32 bytes */
extern void digest_free(Digest *d);
extern char *revision_checksum(const char *id, char **parents, int nparents,
							   char **depends, int ndepends,
							   const char *up_sql, const char *down_sql, bool transactional);

/* datum.c: arguments, name lists, intervals, quoted names */
extern char *required_text_arg(FunctionCallInfo fcinfo, int argno, const char *what);
extern char *text_arg_or_null(FunctionCallInfo fcinfo, int argno);
extern char *target_argument(FunctionCallInfo fcinfo, int argno);
extern ArrayType *strings_to_array(char **elems, int n);
extern const char *array_malformed(ArrayType *arr);
extern char **array_to_strings(ArrayType *arr, const char *what, int *n);
extern Datum interval_from_us(int64 us);
extern char *quoted_names(char **names, int n, int total, int limit);

/* lock.c: the deploy lock and the rules checked before it is taken */
#define OPERATION_CONNECTED			0x01	/* the caller holds the SPI connection */
#define OPERATION_STEP_WAIT			0x02	/* return false during another's step */

extern void lock_init(void);
extern bool operation_begin(const char *function_name, int flags);
extern void step_lock_take(void);
extern void step_lock_release(void);
extern void step_lock_wait(void);
extern void operation_end(int flags);
extern void operation_forbid_nested(void);

/*
 * catalog.c: SPI access to the catalogs, always as the extension owner, and
 * reads by primary key index
 */
typedef struct CatalogScope
{
	Oid			saved_userid;
	int			saved_sec_context;
	int			saved_nestlevel;
} CatalogScope;

extern void catalog_connect(void);
extern void catalog_scope_enter(CatalogScope *scope);
extern void catalog_scope_exit(CatalogScope *scope);
extern int	catalog_exec(const char *sql, int nargs, Oid *argtypes,
						 Datum *values, const char *nulls, bool read_only,
						 long count);
extern bool catalog_read_revision(const char *id, bool fresh, int ncols,
								  const char *const *cols, Datum *values, bool *nulls,
								  bool *applied);
extern char *catalog_fetch_sql(const char *id, bool down);
extern bool catalog_history_tip(int64 *id, char *hash);
extern int64 catalog_next_operation_id(void);
extern void catalog_set_applied(const char *id, const char *checksum,
								TimestampTz applied_at, const char *applied_by);
extern void catalog_unset_applied(const char *id);
extern void catalog_set_applied_checksum(const char *id, const char *checksum);
extern bool catalog_heads_all_applied(const char *target);
extern bool catalog_history_has_detail(void);
extern bool catalog_has_transactional(void);
extern bool catalog_has_schema_root(void);
extern bool catalog_has_drift_event(void);
extern bool catalog_drift_event_empty(void);
extern bool catalog_drift_after_accept(void);
extern Oid	catalog_index_on(Relation rel, AttrNumber first, int nkeyatts, bool primary,
							 Oid *collation);
extern Oid	catalog_table_relid(const char *table);
extern AttrNumber catalog_attnum(Relation rel, const char *name);

/* graph.c: the revision DAG, loaded once per call */
typedef struct Revision
{
	char	   *id;
	int			nparents;
	int		   *parents;
	int			ndepends;
	int		   *depends;
	int			nchildren;		/* through parents */
	int		   *children;
	int			ndependents;	/* through depends_on */
	int		   *dependents;
	int			nlabels;
	char	  **labels;
	char	   *message;
	char	   *checksum;
	char	   *created_by;
	bool		irreversible;
	bool		applied;
	bool		transactional;	/* false: runs statement by statement (deploy, revert) */
} Revision;

typedef struct Graph
{
	MemoryContext cxt;
	int			nrevs;
	Revision   *revs;			/* sorted by id in byte order */
	void	   *labels;			/* branch labels, sorted (graph.c) */
	int			napplied;
} Graph;

extern Graph *graph_load(bool read_only);
extern void graph_free(Graph *g);
extern int	graph_find_id(Graph *g, const char *id);
extern int	graph_find_label(Graph *g, const char *label);
extern int	graph_find_prefix(Graph *g, const char *prefix, int *first, int *second);
extern int	graph_lookup(Graph *g, const char *name);
extern char *graph_id_list(Graph *g, const int *revs, int n, int limit);
extern bool *graph_new_marks(Graph *g);
extern void graph_mark_ancestors(Graph *g, int rev, bool *marks, bool with_depends);
extern void graph_mark_descendants(Graph *g, int rev, bool *marks, bool with_depends);
extern void graph_mark_strict_ancestors(Graph *g, const int *revs, int n, bool *marks,
										bool with_depends);
extern void graph_mark_strict_descendants(Graph *g, const int *revs, int n, bool *marks,
										  bool with_depends);
extern int *graph_order(Graph *g, const bool *members, int *count);
extern int *graph_heads(Graph *g, int *count);
extern int *graph_current_heads(Graph *g, int *count);
extern bool graph_has_cycle(Graph *g);
extern bool graph_is_head(Graph *g, int rev);
extern bool graph_is_current(Graph *g, int rev);
extern bool graph_is_top_applied(Graph *g, int rev);
extern int	graph_branch_root(Graph *g, int rev);
extern bool *graph_branch_members(Graph *g, int rev);
extern void graph_mark_lineage(Graph *g, int rev, bool *marks, bool with_depends);

/* target.c: the target grammar of SPEC section 2 */
typedef enum TargetKind
{
	TARGET_BASE,				/* nothing applied */
	TARGET_REVISIONS,			/* the closure of revs */
	TARGET_BRANCH_BASE			/* just before revs[0], the root of a branch */
} TargetKind;

typedef struct Target
{
	TargetKind	kind;
	int			nrevs;
	int		   *revs;
} Target;

extern Target *target_resolve(Graph *g, const char *text);
extern Target *target_from_ids(Graph *g, TargetKind kind, char **ids, int n);
extern int	revision_resolve(Graph *g, const char *ref);
extern int	target_label(Graph *g, const char *text);
extern bool target_steps_back_from_current(const char *text);


/* names.c: what a revision id or branch label may be, and lists of them */
/* What a name checked by validate_name() is, for its error messages. */
typedef enum NameKind
{
	NAME_REVISION_ID,			/* the id of a revision being registered */
	NAME_BRANCH_LABEL,
	NAME_REVISION				/* a reference: an id, a branch label or an id prefix */
} NameKind;

extern void validate_name(const char *name, NameKind kind);
extern bool is_name_char(char c);
extern void check_list_length(const char *listname, int n, const char *hint);
extern char **list_names(ArrayType *arr, const char *listname, int *n);
extern void validate_name_list(char **names, int n, NameKind kind, const char *listname);

/* plan.c: which revisions an operation touches, and in which order */
typedef enum OperationKind
{
	OP_UPGRADE,
	OP_DOWNGRADE,
	OP_STAMP
} OperationKind;

typedef struct StepPlan
{
	int			nsteps;
	int		   *steps;			/* revision indexes, in execution order */
	bool	   *unapply;		/* per step: remove from the applied set */
} StepPlan;

extern bool *target_closure(Graph *g, Target *t);
extern StepPlan *plan_build(Graph *g, OperationKind op, Target *t, const char *target_text);
extern const char *operation_name(OperationKind op);

/* ops.c: running the steps of a plan */
typedef struct StepContext
{
	const char *operation;
	const char *revision;
	int			step;
	int			nsteps;
	int			line;			/* first line of the running statement, or 0 */
	int			line_base;		/* lines before the SQL being run, in the revision's */
	int			lock_retries;	/* statements retried after a lock timeout */
} StepContext;

extern void step_error_context(void *arg);
extern void report_progress(StepContext *sc);
extern void announce_step(StepContext *sc, Revision *r);
extern void run_revision_sql(const char *sql, StepContext *sc);
extern void notice_all_applied(bool deploy, const char *target, Graph *g);
extern void put_step_row(ReturnSetInfo *rsinfo, Revision *r, int64 duration_us);

/* stepwise.c: a non-transactional revision, statement by statement */
extern ErrorData *run_caught(void (*body) (void *arg), void *arg);
extern ErrorData *stepwise_run(const char *sql, StepContext *sc, int first, int *committed,
							   int *nstatements);
extern int	stepwise_resume_point(Revision *r, const char *operation);

/* residue.c: what a revision leaves in the caller's session */
typedef struct SessionMark
{
	int			guc_nestlevel;	/* the revision's setting changes are above it */
	Oid			temp_namespace;
	int			ntemp;
	ObjectAddress *temp;		/* temporary objects before the revision */
} SessionMark;

extern void residue_init(void);
extern void residue_mark(SessionMark *mark);
extern void residue_force_standard_strings(void);
extern void residue_check(SessionMark *mark);

/* registrant.c: the registrant rule and approvals */
extern void check_registrants(Graph *g, StepPlan *plan);

/* sqlcheck.c: up and down SQL checked by the server's parser at add time */
typedef struct SqlFacts
{
	const char *top_level;		/* the first statement that cannot run in a transaction block */
	int			top_level_line;
	const char *top_level_hint;	/* how to write it so that it can, or NULL */
	const char *setting;		/* "SET" or "RESET": the first such statement */
	int			setting_line;
} SqlFacts;

extern void sqlcheck_validate(const char *revision, const char *section, const char *sql,
							  int line_base, SqlFacts *facts);
extern int	errcontext_sql_line(const char *section, const char *revision, int line,
								int line_base);
extern int	line_of_offset(const char *sql, int offset);

typedef struct SqlStatement
{
	char	   *sql;
	int			line;
	bool		top_level;		/* cannot run in a transaction block */
	IndexStmt  *concurrent_index;	/* CREATE INDEX CONCURRENTLY with a name, or NULL */
	Node	   *stmt;			/* its raw parse tree (lint.c) */
} SqlStatement;

extern SqlStatement *sql_statements(const char *sql, int *count);
extern char *sql_statements_on_own_lines(const char *sql);
extern char *normalize_line_ends(const char *sql, bool trim);
extern void check_no_marker_lines(const char *revision, const char *section, const char *sql);

/* A migration file's marker lines start so (SPEC section 6). */
#define MARKER_PREFIX "-- migrate:"

/* txblock.c: statements that cannot run inside a transaction block */
extern const char *outside_transaction_only(Node *stmt, List **slotless, const char **hint);

/* sqlscan.c: revision SQL as the server's scanner reads it */
typedef bool (*SqlTokenVisitor) (int start, int end, void *arg);

extern int	sqlscan_tokens(const char *sql, SqlTokenVisitor visit, void *arg);
extern bool sqlscan_same_tokens(const char *a, const char *b);
extern int *sqlscan_marker_lines(const char *sql, const char *prefix, int *count);

/* audit.c: history rows and their hash chain */
typedef struct AuditContext
{
	int64		operation_id;
	const char *operation;
	const char *target;
	char	   *session_role;
	char	   *effective_role;
	char	   *application_name;
	char	   *client_addr;
	int			backend_pid;
	bool		have_prev;
	char		prev_hash[MIGRATE_HASH_HEXLEN + 1];
	int64		prev_id;		/* the newest row when the transaction began, 0 if none */
	bool		has_detail;		/* migrate.history has column detail (1.1) */
} AuditContext;

/* One history row, as hashed. */
typedef struct HistoryRow
{
	int64		operation_id;
	const char *operation;
	const char *revision;
	const char *target;
	bool		success;
	const char *sqlstate;
	const char *error;
	TimestampTz started_at;
	Interval	duration;
	const char *session_role;
	const char *effective_role;
	const char *application_name;
	const char *client_addr;
	int			backend_pid;
	uint64		txid;
	const char *checksum;
	const char *prev_hash;
	const char *detail;			/* jsonb as text, or NULL: hashed only when set */
} HistoryRow;

extern void history_row_hash(const HistoryRow *row, char *hex_out);
extern void audit_identity(AuditContext *ac);
extern void audit_begin(AuditContext *ac, const char *operation, const char *target,
						int64 operation_id);
extern void audit_append(AuditContext *ac, HistoryRow *row);
extern void audit_record(AuditContext *ac, const char *revision, bool success,
						 const char *sqlstate, const char *error,
						 TimestampTz started_at, int64 duration_us,
						 const char *checksum, const char *detail);

/* register.c: add, remove, merge */
extern char *register_revision(char *id, const char *up, const char *down,
							   ArrayType *parents, const char *message,
							   ArrayType *depends_on, ArrayType *branch_labels,
							   int transactional_mark, const int *line_bases,
							   ArrayType *lint_ignore, AuditContext *ac);

/* worker.c: a revision's statement run at top level in a background worker */
extern void worker_run_statement(const char *sql, const char *revision, int line);
extern void worker_session_end(void);
extern PGDLLEXPORT void migrate_worker_main(Datum main_arg);

/* lint.c: a revision's SQL against the live catalog (README, "Lint and lock-safe execution") */
typedef enum LintMode
{
	LINT_OFF,
	LINT_WARN,					/* findings of severity warning or error: WARNINGs at add */
	LINT_ERROR					/* as warn, and a finding of severity error refuses the revision */
} LintMode;

typedef struct LintFinding
{
	const char *rule;
	const char *severity;		/* notice, warning or error */
	int			line;			/* first line of the statement in its SQL */
	char	   *statement;		/* shortened */
	char	   *relation;		/* or NULL */
	double		rows;			/* estimated, -1 unknown */
	int64		size;			/* bytes, -1 unknown */
	char	   *message;
	const char *hint;
} LintFinding;

extern int	migrate_lint_mode;
extern int	migrate_lock_timeout;

/* locksafe.c: migrate.lock_timeout and migrate.lock_retries */
extern void locksafe_init(void);
extern void locksafe_begin_revision(void);
extern int	locksafe_execute(const char *sql, StepContext *sc);
extern char *lock_retries_detail(int lock_retries);
extern void lint_init(void);
extern List *lint_findings(const char *sql, char **ignore, int nignore, bool notices);
extern void lint_check_ignore(const char *name, char **entries, int n);
extern char **lint_ignored_rules(ArrayType *arr, int *n);
extern void lint_at_add(const char *name, const char *up, int line_base, char **ignore,
						int nignore);
extern ArrayType *lint_step_findings(const char *id, bool down);

/* schemamodel.c: the managed schemas read into a canonical list of objects */
typedef struct ModelObject
{
	char	   *kind;
	char	   *identity;		/* schema-qualified, quoted */
	char	   *definition;
	char	   *schema;			/* the schema it is in, unquoted */
	char	   *root;			/* "r:", "p:", "t:" or "n:" and the identity of
								 * the relation, function, type or schema it
								 * belongs to ("" when not read) */
	Oid			root_oid;		/* that root's OID, when read */
} ModelObject;

typedef struct SchemaModel
{
	int			n;
	int			capacity;		/* of objs */
	ModelObject *objs;			/* sorted by kind, identity in byte order */
} SchemaModel;

extern char *migrate_drift_schemas;
extern void schemamodel_init(void);
extern Datum schemamodel_schemas(ArrayType *arg, bool *isnull);
extern int	schemamodel_settings_push(void);
extern SchemaModel *schemamodel_read(Datum schemas, bool schemas_null);
extern SchemaModel *schemamodel_read_roots(Datum schemas, bool schemas_null, List **roots);
extern SchemaModel *schemamodel_from_spi(void);
extern ModelObject *schemamodel_push(SchemaModel *m);
extern void schemamodel_fingerprint(SchemaModel *m, char *hex_out);

/* modelrel.c: the model's relations, read from the system caches */
typedef struct ModelRelFilter
{
	Datum		schemas;		/* the managed schemas, text[] */
	bool		schemas_null;	/* the default set instead */
	Oid			last_nsp;		/* the schema last judged, and the verdict */
	bool		last_managed;
} ModelRelFilter;
extern void modelrel_begin(void);
extern void modelrel_end(void);
extern void modelrel_filter_init(ModelRelFilter *f, Datum schemas, bool schemas_null);
extern bool modelrel_managed(ModelRelFilter *f, Oid relid);
extern void modelrel_append(SchemaModel *out, Oid relid);

/*
 * A model's sum: its objects' SHA-256 hashes added modulo 2^256, so that it
 * can be kept up to date object by object; the fingerprint is the SHA-256 of
 * the sum.
 */
typedef struct ModelSum
{
	uint8		bytes[32];
} ModelSum;

extern void modelsum_add(ModelSum *sum, const char *kind, const char *identity,
						 const char *definition, bool subtract);
extern void modelsum_add_model(ModelSum *sum, SchemaModel *m);
extern void modelsum_fingerprint(const ModelSum *sum, char *hex_out);
extern char *modelsum_to_hex(const ModelSum *sum);
extern bool modelsum_from_hex(const char *hex, ModelSum *sum);
extern int	schemamodel_compare(const ModelObject *a, const ModelObject *b);

/* modelstore.c: the recorded model's rows written directly */
extern char *modelstore_key(const ModelObject *o);
extern void modelstore_replace(List **roots, int ngroups, SchemaModel *live, ModelSum *sum);
extern void modelstore_put(SchemaModel *m, char **keys, int n);
extern char *modelstore_value(const char *name);
extern void modelstore_set_value(const char *name, const char *value);

/* drifttouch.c: what a call's revisions touched, collected by the event triggers */
#define DRIFT_ROOT_REL		0
#define DRIFT_ROOT_PROC		1
#define DRIFT_ROOT_TYPE		2
#define DRIFT_ROOT_SCHEMA	3
#define DRIFT_ROOT_GROUPS	4

typedef struct DriftTouched
{
	MemoryContext cxt;			/* where the lists live */
	List	   *roots[DRIFT_ROOT_GROUPS];	/* OIDs, with repeats */
	List	   *candidates;		/* "r:<relation>", "i:<index>" by name */
	List	   *created_classes;	/* objects created, not yet mapped to */
	List	   *created_objects;	/* roots: catalogs and OIDs */
	List	   *created_relations;	/* relations created, mapped at the end */
} DriftTouched;

extern DriftTouched *drift_collector;
extern DriftTouched *drifttouch_new(MemoryContext cxt);
extern void drifttouch_address(DriftTouched *t, Oid classid, Oid objid);
struct EventTriggerData;
extern void drifttouch_init(void);
extern void drifttouch_commands(DriftTouched *t, struct EventTriggerData *trigdata);
extern void drifttouch_created(DriftTouched *t);
extern void drifttouch_dropped(DriftTouched *t);
extern void drifttouch_grant_objects(List **types, List **identities, List **schemas);
extern char *drifttouch_serialize(DriftTouched *t);
extern void drifttouch_deserialize(DriftTouched *t, const char *text);
extern bool drifttouch_triggers_fire(void);

/* drift.c: the recorded model, drift(), accept_drift() */
typedef struct DriftTrack
{
	bool		begun;			/* tracking started for this call */
	bool		ended;			/* the recorded model was brought up to date */
	bool		baseline;		/* no model was recorded before this call */
	Datum		schemas;
	bool		schemas_null;
	DriftTouched *touched;		/* what the revisions touch, or NULL: */
	SchemaModel *before;		/* the whole model before the call, when the
								 * event triggers do not fire */
	char		fingerprint[MIGRATE_HASH_HEXLEN + 1];
} DriftTrack;

extern bool migrate_track_drift;
extern void drift_init(void);
extern void drift_begin(DriftTrack *dt, MemoryContext cxt);
extern void drift_end(DriftTrack *dt, bool ran_sql);
extern char *drift_detail(DriftTrack *dt, const char *detail);
extern char *drift_check_detail(int *count);
extern bool drift_model_recorded(void);

/* ddlevent.c: DDL run outside migrate, recorded by the event triggers */
extern bool migrate_record_drift;
extern void ddlevent_script_begin(void);
extern bool migrate_in_revision;
extern void ddlevent_init(void);
extern void ddlevent_move(AuditContext *ac);


/* the schema diff (README, "Autogenerate") */
#define DIFF_FIELD_SEP	'\x1f'		/* between the fields of a DiffObject's attrs */
#define DIFF_STMT_SEP	'\x1e'		/* between the statements of its create */

/* One object of a schema, as the diff sees it (diffmodel.c). */
typedef struct DiffObject
{
	char	   *kind;			/* the diff's own kind (sequence owned by, domain constraint) */
	char	   *okind;			/* as schema_model() names it */
	char	   *identity;		/* schema-qualified, quoted, with the from schema's name */
	char	   *parent;			/* the table (or domain) of a sub-object, or NULL */
	char	   *core;			/* differs: drop and create again */
	char	   *attrs;			/* differs: altered in place, field by field */
	char	   *create;
	char	   *drop;
	char	   *comment;		/* or NULL */
	char	   *comment_target; /* "TABLE s.t", or NULL: no comment */
	char	   *acl;			/* sorted aclitems, or NULL: no privileges */
	char	   *acl_default;	/* the ACL of a new object of its owner */
	char	   *grant_target;	/* "TABLE s.t" */
	char	   *grant_column;	/* a column's privileges, or NULL */
	Oid			classid;
	Oid			objid;
	int32		subid;
	char	   *owner;			/* unquoted, or NULL: no owner */
	char	   *extra;			/* an enum: renaming it away and dropping it, split by DIFF_STMT_SEP */
	int			parent_index;	/* or -1 */
	int			ndeps;			/* the objects of its schema it depends on */
	int		   *deps;
	int			nrdeps;			/* the objects that depend on it */
	int		   *rdeps;
} DiffObject;

typedef struct DiffSide
{
	int			n;
	DiffObject *objs;			/* sorted by kind, identity in byte order */
} DiffSide;

/* One statement of the diff's output. */
typedef struct DiffRow
{
	const char *kind;
	const char *identity;
	char	   *statement;
} DiffRow;

extern DiffSide *diffmodel_read(const char *schema, const char *from_schema);
extern int	diffmodel_find(DiffSide *side, const char *kind, const char *identity);
extern char *diffsql_map_schema(const char *text, const char *from_q, const char *to_q);
extern char **diffsql_fields(const char *attrs, int *n);
extern List *diffsql_column_alter(DiffObject *f, DiffObject *t, bool force_retype, bool drop_default,
								  bool *narrows, char **reason);
extern List *diffsql_table_alter(DiffObject *f, DiffObject *t);
extern List *diffsql_generic_alter(DiffObject *f, DiffObject *t);
extern List *diffsql_enum_alter(DiffObject *f, DiffObject *t);
extern bool diffsql_uses_new_label(DiffObject *f, DiffObject *t, DiffObject *d);
extern List *diffsql_composite_alter(DiffObject *f, DiffObject *t, bool *recreate, int *dropped);
extern List *diffsql_annotations(DiffObject *f, DiffObject *t);
extern List *diffsql_split(const char *create);
extern List *diff_compute(const char *from_schema, const char *to_schema, ArrayType *renames,
						  bool allow_destructive, List **down);

#endif							/* MIGRATE_H */
