/*
 * password.c: the password prompt of -W, PostgreSQL's simple_prompt() from
 * libpgcommon, as psql and the other client programs ask.  Apart from the
 * rest, since it needs the frontend headers of the server's source.
 */
#include "postgres_fe.h"

#include "common/string.h"
#include "pg_migrate.h"

/* Asks for a password on the terminal (stdin and stderr without one), unechoed. */
char *
read_password(void)
{
	return simple_prompt("Password: ", false);
}
