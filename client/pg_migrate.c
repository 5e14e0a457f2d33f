/*
 * pg_migrate.c: the command line of pg_migrate, the client of migrate.
 *
 * Options and exit status follow PostgreSQL's client programs: -d/-h/-p/-U
 * and the PG* variables, connection strings and URIs, --help, --version;
 * 0 on success, 1 on any error.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pg_migrate.h"

const char *progname = "pg_migrate";

/* Prints the help text. */
static void
usage(void)
{
	printf("%s keeps schema migrations in a PostgreSQL database with the extension migrate.\n\n", progname);
	printf("Usage:\n  %s [OPTION]... COMMAND [ARG]...\n\n", progname);
	printf("Commands:\n"
		   "  new MESSAGE          write a new migration file (no database)\n"
		   "  merge [-m MESSAGE]   write a file merging the files' heads (no database)\n"
		   "  import --from=TOOL SRC\n"
		   "                       write migrate files from the migrations of TOOL in SRC:\n"
		   "                       golang-migrate, dbmate, diesel, flyway, sqitch (no database)\n"
		   "  upgrade [TARGET]     apply what TARGET needs (default head), a transaction each\n"
		   "  downgrade TARGET     run the down SQL of what comes after TARGET\n"
		   "  stamp TARGET         set the applied set to TARGET without running SQL\n"
		   "  plan upgrade [TARGET] | plan downgrade TARGET | plan stamp TARGET\n"
		   "                       the steps and their SQL's lint findings, changing nothing\n"
		   "  current              the current heads\n"
		   "  heads                the graph heads\n"
		   "  history              the revisions, newest first\n"
		   "  show REV             one revision and its SQL\n"
		   "  check                fail unless every revision is applied and unchanged\n"
		   "  verify               every integrity problem; fail if there is one\n"
		   "  status               a one-screen summary\n"
		   "  log [-n N]           the calls of migrate (the audit history), newest first\n"
		   "  graph [--format F]   the revision graph: text (as git log --graph), dot, mermaid\n"
		   "  sql upgrade [TARGET] | sql downgrade TARGET\n"
		   "                       print the offline SQL script\n"
		   "Every database command first registers the directory's files.\n\n");
	printf("Options:\n"
		   "  -D, --dir=DIR        directory of migration files (default: migrations)\n"
		   "      --json           listings as one JSON document\n"
		   "  -v, --verbose        history: every revision in full\n"
		   "  -m, --message=MSG    merge: the message (default: merge)\n"
		   "  -r, --rev-range=A:B  history: the revisions from A to B\n"
		   "  -n, --max-count=N    log: the last N calls\n"
		   "      --format=FORMAT  graph: text (default), dot or mermaid\n"
		   "      --one-transaction  upgrade, downgrade: all revisions in one transaction\n"
		   "      --progress, --no-progress\n"
		   "                       a line per step (default: when stdout is a terminal)\n"
		   "      --branch-label=L, --depends-on=REV, --head=REV\n"
		   "                       new: label, dependency, parent of the new revision\n"
		   "  -V, --version        output version information, then exit\n"
		   "  -?, --help           show this help, then exit\n\n");
	printf("Several databases (upgrade, downgrade, stamp):\n"
		   "  -d DB1 -d DB2 ...    each database on its own, a result line each\n"
		   "      --targets=FILE   the databases of FILE, a connection string a line\n"
		   "  -j, --jobs=N         run N databases at a time (default: 1)\n"
		   "      --continue-on-error\n"
		   "                       go on after a database fails (default: start no other)\n\n");
	printf("Connection options:\n"
		   "  -d, --dbname=DBNAME  database name or connection string (URI)\n"
		   "  -h, --host=HOSTNAME  database server host or socket directory\n"
		   "  -p, --port=PORT      database server port number\n"
		   "  -U, --username=NAME  connect as specified database user\n"
		   "  -w, --no-password    never prompt for password\n"
		   "  -W, --password       force password prompt (should happen automatically)\n\n");
	printf("Relative targets such as -1 may follow the command as they are.\n");
}

/* Exits 1 with the usual pointer to --help. */
void
bad_usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "%s: error: ", progname);
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry \"%s --help\" for more information.\n", progname);
	exit(1);
}

/* Whether an argument is a relative target ("-1"), not an option. */
static bool
is_relative_target(const char *arg)
{
	return arg[0] == '-' && isdigit((unsigned char) arg[1]) &&
		strspn(arg + 1, "0123456789") == strlen(arg + 1);
}

/*
 * Takes the relative targets out of argv, so that getopt does not read
 * them as options; they come back as the last positional arguments.
 */
static int
take_relative_targets(int *argc, char **argv, const char **out)
{
	int			n = 0,
				kept = 1;

	for (int i = 1; i < *argc; i++)
	{
		if (strcmp(argv[i], "--") == 0)
		{
			while (i < *argc)
				argv[kept++] = argv[i++];
			break;
		}
		if (is_relative_target(argv[i]))
			out[n++] = argv[i];
		else
			argv[kept++] = argv[i];
	}
	*argc = kept;
	argv[kept] = NULL;
	return n;
}

enum
{
	OPT_JSON = 256, OPT_ONE_TX, OPT_PROGRESS, OPT_NO_PROGRESS,
	OPT_BRANCH_LABEL, OPT_DEPENDS_ON, OPT_HEAD, OPT_FORMAT, OPT_FROM, OPT_TARGETS,
	OPT_CONTINUE_ON_ERROR
};

/* the most databases a fleet runs at a time */
#define MAX_JOBS 256

static const struct option long_options[] = {
	{"dbname", required_argument, NULL, 'd'},
	{"host", required_argument, NULL, 'h'},
	{"port", required_argument, NULL, 'p'},
	{"username", required_argument, NULL, 'U'},
	{"no-password", no_argument, NULL, 'w'},
	{"password", no_argument, NULL, 'W'},
	{"dir", required_argument, NULL, 'D'},
	{"verbose", no_argument, NULL, 'v'},
	{"message", required_argument, NULL, 'm'},
	{"rev-range", required_argument, NULL, 'r'},
	{"max-count", required_argument, NULL, 'n'},
	{"version", no_argument, NULL, 'V'},
	{"help", no_argument, NULL, '?'},
	{"json", no_argument, NULL, OPT_JSON},
	{"one-transaction", no_argument, NULL, OPT_ONE_TX},
	{"progress", no_argument, NULL, OPT_PROGRESS},
	{"no-progress", no_argument, NULL, OPT_NO_PROGRESS},
	{"branch-label", required_argument, NULL, OPT_BRANCH_LABEL},
	{"depends-on", required_argument, NULL, OPT_DEPENDS_ON},
	{"head", required_argument, NULL, OPT_HEAD},
	{"format", required_argument, NULL, OPT_FORMAT},
	{"from", required_argument, NULL, OPT_FROM},
	{"jobs", required_argument, NULL, 'j'},
	{"targets", required_argument, NULL, OPT_TARGETS},
	{"continue-on-error", no_argument, NULL, OPT_CONTINUE_ON_ERROR},
	{NULL, 0, NULL, 0}
};

/* Reads --jobs: a whole number from 1 to MAX_JOBS. */
static void
set_jobs(Options *opts, const char *arg)
{
	char	   *end;
	long		n;

	errno = 0;
	n = strtol(arg, &end, 10);
	if (errno != 0 || end == arg || *end != '\0' || n < 1 || n > MAX_JOBS)
	{
		fprintf(stderr, "%s: error: -j/--jobs must be in range 1..%d\n", progname, MAX_JOBS);
		fprintf(stderr, "Try \"%s --help\" for more information.\n", progname);
		exit(1);
	}
	opts->jobs = (int) n;
}

/* Applies one option getopt_long returned. */
static void
set_option(Options *opts, int c, const char *arg)
{
	switch (c)
	{
		case 'd':
			opts->dbname = arg;
			opts->dbnames[opts->ndbnames++] = arg;
			break;
		case 'h':
			opts->host = arg;
			break;
		case 'p':
			opts->port = arg;
			break;
		case 'U':
			opts->user = arg;
			break;
		case 'w':
			opts->prompt_password = 0;
			break;
		case 'W':
			opts->prompt_password = 1;
			break;
		case 'D':
			opts->dir = arg;
			opts->dir_given = true;
			break;
		case 'v':
			opts->verbose = true;
			break;
		case 'm':
			opts->message = arg;
			break;
		case 'r':
			opts->range = arg;
			break;
		case 'n':
			if (strspn(arg, "0123456789") != strlen(arg) || arg[0] == '\0')
				bad_usage("invalid value \"%s\" for option -n/--max-count", arg);
			opts->max_count = arg;
			break;
		case OPT_JSON:
			opts->json = true;
			break;
		case OPT_ONE_TX:
			opts->one_transaction = true;
			break;
		case OPT_PROGRESS:
			opts->progress = 1;
			break;
		case OPT_NO_PROGRESS:
			opts->progress = 0;
			break;
		case OPT_BRANCH_LABEL:
			opts->branch_label = arg;
			break;
		case OPT_DEPENDS_ON:
			opts->depends_on[opts->ndepends_on++] = arg;
			break;
		case OPT_HEAD:
			opts->head = arg;
			break;
		case OPT_FORMAT:
			opts->format = arg;
			break;
		case OPT_FROM:
			opts->from = arg;
			break;
		case 'j':
			set_jobs(opts, arg);
			break;
		case OPT_TARGETS:
			opts->targets = arg;
			break;
		case OPT_CONTINUE_ON_ERROR:
			opts->continue_on_error = true;
			break;
		default:
			fprintf(stderr, "Try \"%s --help\" for more information.\n", progname);
			exit(1);
	}
}

/* Reads the command line into opts; exits for --help, --version and errors. */
static void
parse_args(int argc, char **argv, Options *opts)
{
	const char **relative = pg_malloc(sizeof(char *) * argc);
	int			nrelative = take_relative_targets(&argc, argv, relative);
	int			c;

	opts->dir = "migrations";
	opts->progress = -1;
	opts->prompt_password = -1;
	opts->depends_on = pg_malloc(sizeof(char *) * argc);
	opts->dbnames = pg_malloc(sizeof(char *) * argc);
	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-?") == 0))
	{
		usage();
		exit(0);
	}
	if (argc > 1 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0))
	{
		printf("%s (migrate) %s\n", progname, MIGRATE_VERSION);
		exit(0);
	}
	while ((c = getopt_long(argc, argv, "d:h:p:U:wWD:vm:r:n:j:V?", long_options, NULL)) != -1)
		set_option(opts, c, optarg);
	if (optind >= argc && nrelative == 0)
		bad_usage("no command given%s", "");
	opts->command = argv[optind++];
	opts->args = pg_malloc(sizeof(char *) * (argc + nrelative));
	while (optind < argc)
		opts->args[opts->nargs++] = argv[optind++];
	for (int i = 0; i < nrelative; i++)
		opts->args[opts->nargs++] = relative[i];
}

/* Checks the arguments of new and takes its message. */
static void
check_new_args(Options *opts)
{
	if (opts->nargs == 0)
		bad_usage("command \"new\" needs a message%s", "");
	if (opts->nargs > 1)
		bad_usage("too many arguments for command \"new\" (first extra: \"%s\")", opts->args[1]);
	opts->message = opts->args[0];
}

/* pg_migrate: reads the command line, connects, runs the command. */
int
main(int argc, char **argv)
{
	Options		opts;
	PGconn	   *conn;
	int			status;

	memset(&opts, 0, sizeof(opts));
	parse_args(argc, argv, &opts);
	if (strcmp(opts.command, "new") == 0)
	{
		check_new_args(&opts);
		return cmd_new(&opts);
	}
	if (strcmp(opts.command, "merge") == 0)
	{
		if (opts.nargs > 0)
			bad_usage("too many arguments for command \"merge\" (first extra: \"%s\")", opts.args[0]);
		if (opts.message == NULL)
			opts.message = "merge";
		return cmd_merge(&opts);
	}
	if (strcmp(opts.command, "import") == 0)
	{
		if (opts.from == NULL)
			bad_usage("command \"import\" needs --from TOOL%s", "");
		if (opts.nargs != 1)
			bad_usage(opts.nargs == 0 ? "command \"import\" needs a source directory%s" :
					  "too many arguments for command \"import\" (first extra: \"%s\")",
					  opts.nargs == 0 ? "" : opts.args[1]);
		return cmd_import(&opts);
	}
	if (strcmp(opts.command, "plan") == 0)
		return cmd_plan(&opts);
	if (!is_database_command(opts.command))
		bad_usage("unknown command \"%s\"", opts.command);
	check_arg_count(&opts);
	if (fleet_wanted(&opts))
	{
		if (strcmp(opts.command, "upgrade") != 0 && strcmp(opts.command, "downgrade") != 0 &&
			strcmp(opts.command, "stamp") != 0)
			bad_usage("several databases (-d, --targets, --jobs) are for upgrade, downgrade and stamp, not \"%s\"",
					  opts.command);
		return run_fleet(&opts);
	}
	conn = connect_database(&opts);
	install_progress(conn, opts.progress == 1 ||
					 (opts.progress == -1 && isatty(fileno(stdout))));
	status = run_command(conn, &opts);
	PQfinish(conn);
	return status;
}
