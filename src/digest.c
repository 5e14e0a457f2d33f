/*
 * digest.c
 *		SHA-256 over a canonical serialization, for revision checksums and the
 *		history hash chain.
 *
 * Every value is written length-prefixed ("<bytes>:<value>;"), NULL as "-;"
 * and an array as "<count>[" its elements "]", so that no two different
 * inputs serialize alike.  The format is documented in README.md, so that
 * anyone can recompute a checksum outside the database.
 */
#include "migrate.h"

#include "common/cryptohash.h"
#include "common/sha2.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#ifdef USE_OPENSSL
#include <openssl/evp.h>
#endif

struct Digest
{
	pg_cryptohash_ctx *ctx;
};

/* Feeds raw bytes to the hash. */
static void
digest_update(Digest *d, const char *s, size_t len)
{
	if (pg_cryptohash_update(d->ctx, (const uint8 *) s, len) < 0)
		elog(ERROR, "could not update SHA-256 digest: %s",
			 pg_cryptohash_error(d->ctx));
}

/* Starts a digest; the domain string keeps checksums and row hashes apart. */
Digest *
digest_begin(const char *domain)
{
	Digest	   *d = palloc(sizeof(Digest));

	d->ctx = pg_cryptohash_create(PG_SHA256);
	if (d->ctx == NULL || pg_cryptohash_init(d->ctx) < 0)
		elog(ERROR, "could not initialize SHA-256 digest");
	digest_text(d, domain);
	return d;
}

/* Feeds a length-prefixed byte string: no two field lists hash alike. */
void
digest_bytes(Digest *d, const char *s, size_t len)
{
	char		prefix[32];

	snprintf(prefix, sizeof(prefix), "%zu:", len);
	digest_update(d, prefix, strlen(prefix));
	digest_update(d, s, len);
	digest_update(d, ";", 1);
}

/* Feeds a C string, or the NULL marker. */
void
digest_text(Digest *d, const char *s)
{
	if (s == NULL)
		digest_null(d);
	else
		digest_bytes(d, s, strlen(s));
}

/* Feeds the NULL marker, which no length-prefixed value can equal. */
void
digest_null(Digest *d)
{
	digest_update(d, "-;", 2);
}

/* Feeds a counted list of strings. */
void
digest_strings(Digest *d, char **elems, int n)
{
	char		prefix[32];

	snprintf(prefix, sizeof(prefix), "%d[", n);
	digest_update(d, prefix, strlen(prefix));
	for (int i = 0; i < n; i++)
		digest_text(d, elems[i]);
	digest_update(d, "]", 1);
}

/* Feeds an integer as its decimal text. */
void
digest_int64(Digest *d, int64 v)
{
	char		buf[32];

	snprintf(buf, sizeof(buf), INT64_FORMAT, v);
	digest_text(d, buf);
}

#ifdef USE_OPENSSL
/* SHA-256 of len bytes into raw, by OpenSSL with what is fetched once. */
static void
sha256_oneshot(const uint8 *data, size_t len, uint8 *raw)
{
	static EVP_MD *sha256 = NULL;
	static EVP_MD_CTX *ctx = NULL;
	unsigned int rawlen = 0;

	if (sha256 == NULL)
	{
		/* process-lifetime, like the server's own OpenSSL state */
		ctx = EVP_MD_CTX_new();
		sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
		if (ctx == NULL || sha256 == NULL)
		{
			EVP_MD_CTX_free(ctx);
			EVP_MD_free(sha256);
			ctx = NULL;
			sha256 = NULL;
			elog(ERROR, "could not initialize SHA-256 digest");
		}
	}
	if (EVP_DigestInit_ex2(ctx, sha256, NULL) != 1 ||
		EVP_DigestUpdate(ctx, data, len) != 1 ||
		EVP_DigestFinal_ex(ctx, raw, &rawlen) != 1 ||
		rawlen != PG_SHA256_DIGEST_LENGTH)
		elog(ERROR, "could not compute SHA-256 digest");
}
#else
/* SHA-256 of len bytes into raw, by the server's own implementation. */
static void
sha256_oneshot(const uint8 *data, size_t len, uint8 *raw)
{
	pg_cryptohash_ctx *ctx = pg_cryptohash_create(PG_SHA256);

	if (ctx == NULL || pg_cryptohash_init(ctx) < 0 ||
		pg_cryptohash_update(ctx, data, len) < 0 ||
		pg_cryptohash_final(ctx, raw, PG_SHA256_DIGEST_LENGTH) < 0)
		elog(ERROR, "could not compute SHA-256 digest");
	pg_cryptohash_free(ctx);
}
#endif

/* Appends "<length>:" to buf, as digest_bytes() prefixes a string. */
static void
append_length_prefix(StringInfo buf, size_t len)
{
	char		digits[24];
	int			n = 0;

	do
	{
		digits[n++] = (char) ('0' + len % 10);
		len /= 10;
	} while (len > 0);
	while (n > 0)
		appendStringInfoChar(buf, digits[--n]);
	appendStringInfoChar(buf, ':');
}

/*
 * The hash of one small item, as digest_begin(domain), digest_text() of a,
 * b and c, and digest_final_raw() would compute it, into raw (32 bytes):
 * for the many objects of a schema model, where setting up a digest costs
 * more than the bytes it hashes.  The serialization goes into one buffer
 * hashed in one update; with OpenSSL, by a context and a SHA-256
 * implementation fetched once (pg_cryptohash_init() fetches it again for
 * every item, half of the hashing time).
 */
void
digest_object3(const char *domain, const char *a, const char *b, const char *c,
			   uint8 *raw)
{
	static StringInfo buf = NULL;
	const char *strings[4] = {domain, a, b, c};

	if (buf == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

		buf = makeStringInfo();
		MemoryContextSwitchTo(old);
	}
	resetStringInfo(buf);
	for (int i = 0; i < 4; i++)
	{
		if (strings[i] == NULL)
		{
			appendBinaryStringInfo(buf, "-;", 2);
			continue;
		}
		append_length_prefix(buf, strlen(strings[i]));
		appendStringInfoString(buf, strings[i]);
		appendStringInfoChar(buf, ';');
	}
	sha256_oneshot((const uint8 *) buf->data, buf->len, raw);
}

/* Finishes the digest into 64 lowercase hex digits and a NUL. */
void
digest_end(Digest *d, char *hex_out)
{
	uint8		raw[PG_SHA256_DIGEST_LENGTH];

	if (pg_cryptohash_final(d->ctx, raw, sizeof(raw)) < 0)
		elog(ERROR, "could not finish SHA-256 digest: %s",
			 pg_cryptohash_error(d->ctx));
	digest_free(d);
	hex_encode((const char *) raw, sizeof(raw), hex_out);
	hex_out[MIGRATE_HASH_HEXLEN] = '\0';
}

/* Frees a digest. */
void
digest_free(Digest *d)
{
	pg_cryptohash_free(d->ctx);
	pfree(d);
}

/* The checksum of SPEC section 1: id, parents, depends_on, up and down SQL. */
char *
revision_checksum(const char *id, char **parents, int nparents,
				  char **depends, int ndepends,
				  const char *up_sql, const char *down_sql, bool transactional)
{
	Digest	   *d = digest_begin("migrate revision v1");
	char	   *hex = palloc(MIGRATE_HASH_HEXLEN + 1);

	digest_text(d, id);
	digest_strings(d, parents, nparents);
	digest_strings(d, depends, ndepends);
	digest_text(d, up_sql);
	digest_text(d, down_sql);
	/* only when false, so that every transactional revision keeps its 1.0 checksum */
	if (!transactional)
		digest_text(d, "transactional false");
	digest_end(d, hex);
	return hex;
}
