/*
 * fleet.c: upgrade, downgrade or stamp of many databases (several -d,
 * --targets FILE), N at a time (--jobs), a result line each.
 *
 * Each database runs in a child process made by fork(), as pg_dump's
 * parallel mode does on Unix: the child is the ordinary one-database
 * command (connect, register the files, run), whose errors end the process
 * with status 1 wherever they happen, so a failure cannot leak into the
 * next database, and no libpq call is shared between databases.  The
 * child's stdout and stderr go to a pipe that the parent reads with poll();
 * the parent prints one line per database as each ends, and the child's
 * messages on stderr, each line prefixed with the database.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pg_migrate.h"

/* the child's last line on success: this byte, then the change of the applied count */
#define RESULT_MARK '\x1f'

/* One database of the fleet and its child. */
typedef struct Target
{
	const char *name;			/* as given: a name or a connection string */
	pid_t		pid;			/* 0: not started */
	int			fd;				/* the read end of the child's pipe, or -1 */
	char	   *out;			/* what the child wrote */
	size_t		len;
	size_t		cap;
	struct timeval start;
	bool		done;
} Target;

/* Whether the command line asks for a fleet: several -d, --targets or --jobs. */
bool
fleet_wanted(const Options *opts)
{
	return opts->ndbnames > 1 || opts->targets != NULL || opts->jobs > 0;
}

/*
 * Adds the connection strings of a targets file, a line each (blank lines
 * and # comments skipped), to names, which grows.
 */
static void
read_targets(const char *path, const char ***names, int *n)
{
	size_t		len;
	char	   *text = read_file(path, &len);

	*names = realloc(*names, sizeof(char *) * (*n + len / 2 + 2));
	if (*names == NULL)
		pg_fatal("out of memory");
	for (char *line = text, *next; line != NULL; line = next)
	{
		char	   *end;

		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		line += strspn(line, " \t");
		end = line + strlen(line);
		while (end > line && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
			*--end = '\0';
		if (*line != '\0' && *line != '#')
			(*names)[(*n)++] = line;
	}
}

/* The applied revisions' count, or 0 where the extension is missing (run_command says so). */
static long
applied_count(PGconn *conn)
{
	PGresult   *res = run_query(conn, "SELECT 1 FROM pg_catalog.pg_extension "
								"WHERE extname = 'migrate'", 0, NULL, NULL);
	long		n = 0;

	if (PQntuples(res) == 1)
	{
		PQclear(res);
		res = run_query(conn, "SELECT count(*) FROM migrate.revisions() WHERE is_applied",
						0, NULL, NULL);
		n = atol(PQgetvalue(res, 0, 0));
	}
	PQclear(res);
	return n;
}

/*
 * The child: the one-database command on target, its output into fd;
 * on success its last line is RESULT_MARK and the change of the applied
 * count.  Never returns.
 */
static void
run_child(const Options *opts, const char *target, int fd)
{
	Options		o = *opts;
	PGconn	   *conn;
	long		before;
	int			status;

	if (dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0)
		pg_fatal("could not redirect output: %s", strerror(errno));
	close(fd);
	o.dbname = target;
	conn = connect_database(&o);
	install_progress(conn, false);
	before = applied_count(conn);
	status = run_command(conn, &o);
	if (status == 0)
		printf("%c%ld\n", RESULT_MARK, applied_count(conn) - before);
	PQfinish(conn);
	fflush(stdout);
	exit(status);
}

/* Forks the child of target t; the parent keeps the pipe's read end. */
static void
start_target(const Options *opts, Target *t)
{
	int			fds[2];

	if (pipe(fds) != 0)
		pg_fatal("could not create pipe: %s", strerror(errno));
	fflush(NULL);
	gettimeofday(&t->start, NULL);
	t->pid = fork();
	if (t->pid < 0)
		pg_fatal("could not fork: %s", strerror(errno));
	if (t->pid == 0)
	{
		close(fds[0]);
		run_child(opts, t->name, fds[1]);
	}
	close(fds[1]);
	t->fd = fds[0];
}

/* Reads what the child wrote; false at the end of its output. */
static bool
read_child(Target *t)
{
	ssize_t		n;

	if (t->cap - t->len < 4096)
	{
		t->cap = t->cap * 2 + 4096;
		t->out = realloc(t->out, t->cap + 1);
		if (t->out == NULL)
			pg_fatal("out of memory");
	}
	n = read(t->fd, t->out + t->len, t->cap - t->len);
	if (n < 0 && errno == EINTR)
		return true;
	if (n <= 0)
		return false;
	t->len += n;
	return true;
}

/*
 * The failure of a child in one line: its "pg_migrate: error: " and
 * "ERROR:  " lines without those prefixes, joined by ": ".
 */
static char *
failure_message(const Target *t, int status)
{
	char	   *msg = pg_malloc(t->len + 64);
	char	   *copy = pg_malloc(t->len + 1);

	msg[0] = '\0';
	memcpy(copy, t->out ? t->out : "", t->len);
	copy[t->len] = '\0';
	for (char *line = strtok(copy, "\n"); line != NULL; line = strtok(NULL, "\n"))
	{
		const char *text = NULL;

		if (strncmp(line, "pg_migrate: error: ", 19) == 0)
			text = line + 19;
		else if (strncmp(line, "ERROR:  ", 8) == 0 || strncmp(line, "FATAL:  ", 8) == 0)
			text = line + 8;
		if (text != NULL)
			sprintf(msg + strlen(msg), "%s%s", msg[0] ? ": " : "", text);
	}
	if (msg[0] == '\0' && WIFSIGNALED(status))
		sprintf(msg, "killed by signal %d", WTERMSIG(status));
	else if (msg[0] == '\0')
		sprintf(msg, "exit status %d", WEXITSTATUS(status));
	free(copy);
	return msg;
}

/* Copies the child's lines to stderr, each after "<db>: ", but the result line. */
static void
relay_output(const Target *t)
{
	const char *p = t->out;
	const char *end = t->out + t->len;

	while (p != NULL && p < end)
	{
		const char *nl = memchr(p, '\n', end - p);
		int			len = (int) ((nl ? nl : end) - p);

		if (len > 0 && p[0] != RESULT_MARK)
			fprintf(stderr, "%s: %.*s\n", t->name, len, p);
		p = nl ? nl + 1 : NULL;
	}
}

/*
 * Reaps the child of t, whose output has ended, and prints its line:
 * "<db>: ok, 3 revisions applied in 0.4 s" or "<db>: FAILED: <message>".
 * Returns whether it succeeded.
 */
static bool
finish_target(const Options *opts, Target *t)
{
	int			status;
	struct timeval now;
	double		secs;
	const char *mark;
	long		delta;

	close(t->fd);
	t->fd = -1;
	t->done = true;
	while (waitpid(t->pid, &status, 0) < 0)
		if (errno != EINTR)
			pg_fatal("could not wait for a child process: %s", strerror(errno));
	gettimeofday(&now, NULL);
	secs = (now.tv_sec - t->start.tv_sec) + (now.tv_usec - t->start.tv_usec) / 1e6;
	if (t->out != NULL)
		t->out[t->len] = '\0';
	relay_output(t);
	mark = t->out ? strrchr(t->out, RESULT_MARK) : NULL;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || mark == NULL)
	{
		printf("%s: FAILED: %s\n", t->name, failure_message(t, status));
		fflush(stdout);
		return false;
	}
	delta = atol(mark + 1);
	if (strcmp(opts->command, "stamp") == 0)
		printf("%s: ok, %ld revision%s marked %s in %.1f s\n", t->name, labs(delta),
			   labs(delta) == 1 ? "" : "s", delta < 0 ? "unapplied" : "applied", secs);
	else
		printf("%s: ok, %ld revision%s %s in %.1f s\n", t->name, labs(delta),
			   labs(delta) == 1 ? "" : "s",
			   strcmp(opts->command, "downgrade") == 0 ? "reverted" : "applied", secs);
	fflush(stdout);
	return true;
}

/* Waits until a running child writes or ends; handles what it wrote. */
static bool
wait_children(const Options *opts, Target *targets, int n)
{
	struct pollfd *pfds = pg_malloc(sizeof(struct pollfd) * n);
	int		   *which = pg_malloc(sizeof(int) * n);
	int			npfds = 0;
	bool		ok = true;

	for (int i = 0; i < n; i++)
		if (targets[i].fd >= 0)
		{
			pfds[npfds].fd = targets[i].fd;
			pfds[npfds].events = POLLIN;
			which[npfds++] = i;
		}
	if (poll(pfds, npfds, -1) < 0 && errno != EINTR)
		pg_fatal("poll failed: %s", strerror(errno));
	for (int k = 0; k < npfds; k++)
		if (pfds[k].revents != 0 && !read_child(&targets[which[k]]))
			ok &= finish_target(opts, &targets[which[k]]);
	free(pfds);
	free(which);
	return ok;
}

/*
 * Runs the command on every database of the fleet, --jobs at a time (1 if
 * not given); after a failure, unless --continue-on-error, starts no other.
 * Exit status 1 if any database failed or was not started.
 */
int
run_fleet(const Options *opts)
{
	const char **names = pg_malloc(sizeof(char *) * (opts->ndbnames + 1));
	int			n = 0,
				next = 0,
				running = 0;
	bool		ok = true;
	Target	   *targets;

	for (int i = 0; i < opts->ndbnames; i++)
		names[n++] = opts->dbnames[i];
	if (opts->targets != NULL)
		read_targets(opts->targets, &names, &n);
	if (n == 0)
		pg_fatal("the targets file \"%s\" names no database", opts->targets);
	targets = pg_malloc(sizeof(Target) * n);
	memset(targets, 0, sizeof(Target) * n);
	for (int i = 0; i < n; i++)
	{
		targets[i].name = names[i];
		targets[i].fd = -1;
	}
	signal(SIGPIPE, SIG_IGN);
	while (next < n || running > 0)
	{
		while (running < (opts->jobs > 0 ? opts->jobs : 1) && next < n &&
			   (ok || opts->continue_on_error))
		{
			start_target(opts, &targets[next++]);
			running++;
		}
		if (running == 0)
			break;
		ok &= wait_children(opts, targets, n);
		running = 0;
		for (int i = 0; i < n; i++)
			running += targets[i].pid != 0 && !targets[i].done;
	}
	for (int i = next; i < n; i++)
		printf("%s: not started (an earlier database failed)\n", targets[i].name);
	return ok && next == n ? 0 : 1;
}
