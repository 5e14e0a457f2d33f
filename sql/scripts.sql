SET client_min_messages = warning; DROP EXTENSION IF EXISTS migrate CASCADE; CREATE EXTENSION migrate; RESET client_min_messages;
-- Migration files (SPEC section 6): migrate.add_script() with every header
-- key, "-- migrate:" lines inside SQL strings, quoted identifiers, dollar
-- quotes and nested comments (SQL, not markers), CRLF files, every malformed
-- file with its line number, the checks shared with migrate.add(),
-- idempotence and replacement; migrate.script() and the exact round trip
-- add_script(script(r)); migrate.add_dir()'s argument and privilege checks
-- (the files themselves are in test/t/030_add_dir.pl).
SET client_min_messages = warning; DROP ROLE IF EXISTS regress_migrate_files; RESET client_min_messages;
\set VERBOSITY default
-- the graph as stored
CREATE TEMP VIEW graph AS
SELECT id, parents, depends_on, branch_labels, message, up_sql, down_sql
  FROM migrate.revision ORDER BY id COLLATE "C";
-- the number of revisions and history rows: an error must leave both alone
CREATE TEMP VIEW counts AS
SELECT (SELECT count(*) FROM migrate.revision) AS revisions,
       (SELECT count(*) FROM migrate.history) AS history;

-- Header keys
-- revision, message and up/down; no parents line in an empty graph: a root
SELECT migrate.add_script(E'-- migrate:revision s1\n-- migrate:message users table\n-- migrate:up\nCREATE TABLE t_s1 (id int PRIMARY KEY);\n\n-- migrate:down\nDROP TABLE t_s1;\n');
-- no parents line: the single head (s1); up and down without a trailing newline
SELECT migrate.add_script(E'-- migrate:revision s2\n-- migrate:up\nALTER TABLE t_s1 ADD email text;\n-- migrate:down\nALTER TABLE t_s1 DROP email;');
-- parents base: a second root; comments and blank lines around the header
-- lines; no down section: irreversible; leading blank lines in the up SQL
SELECT migrate.add_script(E'-- a comment before the header\n\n-- migrate:revision d1\n   -- an indented comment\n-- migrate:parents base\n-- migrate:message dependency\n-- migrate:up\n\n\nCREATE TABLE t_d1 (id int);\n');
-- several labels; the message keeps its own spaces after the one separating it
SELECT migrate.add_script(E'-- migrate:revision s3\n-- migrate:parents base\n-- migrate:branch_labels audit logs\n-- migrate:message   audit:  two  spaces  \n-- migrate:up\nCREATE TABLE t_s3 (id int);\n-- migrate:down\nDROP TABLE t_s3;\n');
-- several parents (a merge), depends_on, empty up and down sections, keys in
-- another order, tabs and several spaces between names
SELECT migrate.add_script(E'-- migrate:revision s4\n-- migrate:depends_on d1\n-- migrate:message merge\n-- migrate:parents  s2\ts3 \n-- migrate:up\n-- migrate:down\n');
SELECT * FROM graph;
-- no parents line with two heads (d1, s4): ambiguous, nothing registered
SELECT migrate.add_script(E'-- migrate:revision s5\n-- migrate:up\nSELECT 1;\n');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM counts;
-- every key spelled out, one file for each kind of revision
SELECT migrate.add_script(E'-- migrate:revision s5\n-- migrate:parents s4\n-- migrate:depends_on d1 s3\n-- migrate:branch_labels five\n-- migrate:message all keys\n-- migrate:up\nCREATE TABLE t_s5 (id int);\n-- migrate:down\nDROP TABLE t_s5;\n');
SELECT migrate.heads();
-- d1 is only a dependency of s5, so it is still a head: from here on, parents lines
-- a file of an empty up section only, at the end without a newline
SELECT migrate.add_script(E'-- migrate:revision s6\n-- migrate:parents s5\n-- migrate:up');
-- a long id, for prefix lookups below
SELECT migrate.add_script(E'-- migrate:revision 0007_long_identifier\n-- migrate:parents s6\n-- migrate:up\nSELECT 7;\n\n\n-- migrate:down\n\nSELECT -7;\n');
SELECT * FROM graph WHERE id IN ('s5', 's6', '0007_long_identifier');

-- "-- migrate:" lines inside SQL constructs are SQL, not markers
-- inside a dollar-quoted function body, with another tag nested inside
SELECT migrate.add_script(E'-- migrate:revision m_dollar\n-- migrate:parents s6\n-- migrate:up\nCREATE FUNCTION f_m() RETURNS text LANGUAGE plpgsql AS $fn$\nBEGIN\n  RETURN $$\n-- migrate:down\n$$;\n-- migrate:up\nEND\n$fn$;\n-- migrate:down\nDROP FUNCTION f_m();\n');
-- inside a string spanning lines, with a doubled quote before the line
SELECT migrate.add_script(E'-- migrate:revision m_quote\n-- migrate:parents m_dollar\n-- migrate:up\nSELECT ''it''''s\n-- migrate:down\n-- migrate:message no\n'' AS s;\n-- migrate:down\nSELECT 1;\n');
-- inside an escape string whose \' would end a standard string
SELECT migrate.add_script(E'-- migrate:revision m_escape\n-- migrate:parents m_quote\n-- migrate:up\nSELECT e''it\\''s\n-- migrate:down\n'' AS s, E''\\\\'' AS backslash;\n-- migrate:down\nSELECT 2;\n');
-- a standard string ends at its quote even after a backslash: the next line is a marker
SELECT migrate.add_script(E'-- migrate:revision m_backslash\n-- migrate:parents m_escape\n-- migrate:up\nSELECT ''C:\\'';\n-- migrate:down\nSELECT 3;\n');
-- (refused, naming line 1 of the up section: such a string reads differently
-- with standard_conforming_strings off; written as an E'' string it is fine)
SELECT migrate.add_script(E'-- migrate:revision m_backslash\n-- migrate:parents m_escape\n-- migrate:up\nSELECT E''C:\\\\'';\n-- migrate:down\nSELECT 3;\n');
-- files and add() are read with standard_conforming_strings on whatever the
-- session says: with it off, the string would run on to the last line and
-- hide the marker line (refused as above, and as a marker line by add())
SET standard_conforming_strings = off;
SET escape_string_warning = off;
SELECT migrate.add_script(E'-- migrate:revision m_session_off\n-- migrate:parents m_escape\n-- migrate:up\nSELECT ''C:\\'';\n-- migrate:down\nSELECT 3; -- ''\n');
SELECT migrate.add('m_session_off', E'SELECT ''C:\\'';\n-- migrate:down\nSELECT 3; -- ''', parents => '{m_escape}');
RESET standard_conforming_strings;
RESET escape_string_warning;
-- inside a quoted identifier spanning lines
SELECT migrate.add_script(E'-- migrate:revision m_ident\n-- migrate:parents m_backslash\n-- migrate:up\nCREATE TABLE "t_m""\n-- migrate:down\n" (id int);\n-- migrate:down\nDROP TABLE "t_m""\n-- migrate:down\n";\n');
-- inside nested block comments: the first */ does not end the outer comment
SELECT migrate.add_script(E'-- migrate:revision m_comment\n-- migrate:parents m_ident\n-- migrate:up\n/* outer /* inner */\n-- migrate:down\n-- migrate:revision other\n*/ SELECT 4;\n-- migrate:down\n/*\n-- migrate:up\n*/\n');
-- after the constructs end, a marker line is a marker again; a line comment
-- ends at its line; "-- migrate:" that does not start the line is SQL
SELECT migrate.add_script(E'-- migrate:revision m_after\n-- migrate:parents m_comment\n-- migrate:up\nSELECT $t$x$t$, ''y'', "z" FROM (SELECT 1 AS "z") s /* c */; -- it''s\n  -- migrate:down (indented)\nSELECT 5; -- migrate:down\n-- migrate:down\nSELECT 6;\n');
SELECT id, up_sql, down_sql FROM graph WHERE id LIKE 'm\_%';
-- a dollar-quote tag has no length limit: a marker line inside a body quoted
-- with a tag longer than an identifier is SQL too, in a file and in add()
BEGIN;
SELECT migrate.add_script(E'-- migrate:revision m_long_tag\n-- migrate:parents m_after\n-- migrate:up\nSELECT $a_dollar_quote_tag_longer_than_the_63_bytes_that_an_identifier_may_have$\n-- migrate:down\n$a_dollar_quote_tag_longer_than_the_63_bytes_that_an_identifier_may_have$;\n-- migrate:down\nSELECT 7;\n');
SELECT up_sql, down_sql FROM migrate.revision WHERE id = 'm_long_tag';
SELECT migrate.add('m_long_tag2', E'SELECT $a_dollar_quote_tag_longer_than_the_63_bytes_that_an_identifier_may_have$\n-- migrate:up\n$a_dollar_quote_tag_longer_than_the_63_bytes_that_an_identifier_may_have$;', parents => '{m_long_tag}');
ROLLBACK;
-- the server's own scanner decides where SQL constructs end: marker-like
-- lines inside a U&"..." identifier with an escape, inside a dollar quote
-- whose long tag encloses a short one, inside an E'...' string after escaped
-- quotes and backslashes, inside three nested comments and on many lines of
-- one comment are SQL; the line after the comments close is a marker again
BEGIN;
SELECT migrate.add_script($f$-- migrate:revision m_scanner
-- migrate:parents m_after
-- migrate:up
SELECT 1 AS U&"a\0062
-- migrate:down
c";
SELECT $a_dollar_quote_tag_longer_than_the_63_bytes_that_an_identifier_may_have$ $a$
-- migrate:down
$a$ $a_dollar_quote_tag_longer_than_the_63_bytes_that_an_identifier_may_have$;
SELECT E'\'\\
-- migrate:down
\'';
/* 1 /* 2 /* 3
-- migrate:down
*/ 2 */
-- migrate:down
*/
-- migrate:down
/*
-- migrate:up
-- migrate:up
-- migrate:up
-- migrate:up
-- migrate:up
*/
SELECT 2;
$f$);
SELECT up_sql, down_sql FROM migrate.revision WHERE id = 'm_scanner';
ROLLBACK;
-- two '...' strings with only line ends and comments between them are one
-- string to the server: a marker-like line there is inside it
BEGIN;
SELECT migrate.add_script($f$-- migrate:revision m_continued
-- migrate:parents m_after
-- migrate:up
SELECT 'a'
-- migrate:down
'b' AS ab;
-- migrate:down
SELECT 1;
$f$);
SELECT up_sql, down_sql FROM migrate.revision WHERE id = 'm_continued';
ROLLBACK;
-- a marker-like line inside a U&'...' string is inside it too: the file is
-- not split there (no second down section) and add() finds no marker; a
-- U&'...' string reads the same whatever standard_conforming_strings says
-- (the server refuses it when the setting is off, but psql reads it alike)
BEGIN;
SELECT migrate.add_script($f$-- migrate:revision m_unicode
-- migrate:parents m_after
-- migrate:up
SELECT U&'d\0061t
-- migrate:down
a';
-- migrate:down
SELECT 1;
$f$);
SELECT migrate.add('m_unicode2', E'SELECT U&''d\\0061t\n-- migrate:down\na''', parents => '{m_after}');
SELECT id, up_sql, down_sql FROM migrate.revision WHERE id LIKE 'm\_unicode%' ORDER BY id;
ROLLBACK;

-- CRLF line ends are LF: the same file with CRLF is the same revision
SELECT checksum AS s5_checksum FROM migrate.revision WHERE id = 's5' \gset
SELECT * FROM counts;
SELECT migrate.add_script(E'-- migrate:revision s5\r\n-- migrate:parents s4\r\n-- migrate:depends_on d1 s3\r\n-- migrate:branch_labels five\r\n-- migrate:message all keys\r\n-- migrate:up\r\nCREATE TABLE t_s5 (id int);\r\n-- migrate:down\r\nDROP TABLE t_s5;\r\n');
SELECT * FROM counts;
SELECT checksum = :'s5_checksum' AS same_checksum FROM migrate.revision WHERE id = 's5';
-- a new CRLF file: no CR is stored, and its checksum is that of its LF twin
SELECT migrate.add_script(E'-- migrate:revision crlf\r\n-- migrate:parents m_after\r\n-- migrate:message crlf file\r\n-- migrate:up\r\nSELECT ''a\r\nb'';\r\n\r\n-- migrate:down\r\nSELECT 8;\r\n');
SELECT up_sql, down_sql, message, strpos(up_sql || down_sql || message, E'\r') AS cr_at
  FROM migrate.revision WHERE id = 'crlf';
SELECT checksum AS crlf_checksum FROM migrate.revision WHERE id = 'crlf' \gset
BEGIN;
SELECT migrate.remove('crlf');
SELECT migrate.add_script(E'-- migrate:revision crlf\n-- migrate:parents m_after\n-- migrate:message crlf file\n-- migrate:up\nSELECT ''a\nb'';\n\n-- migrate:down\nSELECT 8;\n');
SELECT checksum = :'crlf_checksum' AS same_checksum FROM migrate.revision WHERE id = 'crlf';
ROLLBACK;

-- Malformed files: 22023 with the line number, nothing registered
SELECT * FROM counts;
-- Invalid input: no revision line (reported at the up line; line 1 for an empty file)
SELECT migrate.add_script(E'-- migrate:message m\n-- migrate:up\nSELECT 1;\n');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM counts;
SELECT migrate.add_script('');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM counts;
-- Invalid input: unknown key
SELECT migrate.add_script(E'-- migrate:revision e1\n-- migrate:author me\n-- migrate:up\nSELECT 1;\n');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM counts;
-- Invalid input: a marker without a key
SELECT migrate.add_script(E'-- migrate:revision e1\n-- migrate:\n-- migrate:up\nSELECT 1;\n');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM counts;
-- Invalid input: no up section (reported at the last line)
SELECT migrate.add_script(E'-- migrate:revision e1\n-- migrate:message m\n\n');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM counts;
-- Invalid input: a second up section
SELECT migrate.add_script(E'-- migrate:revision e1\n-- migrate:up\nSELECT 1;\n-- migrate:up\nSELECT 2;\n');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM counts;
-- Invalid input: an up section after the down section
SELECT migrate.add_script(E'-- migrate:revision e1\n-- migrate:up\nSELECT 1;\n-- migrate:down\nSELECT 2;\n-- migrate:up\nSELECT 3;\n');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM counts;
-- Invalid input: a second down section
SELECT migrate.add_script(E'-- migrate:revision e1\n-- migrate:up\nSELECT 1;\n-- migrate:down\nSELECT 2;\n-- migrate:down\nSELECT 3;\n');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM counts;
-- Invalid input: down before up
SELECT migrate.add_script(E'-- migrate:revision e1\n-- migrate:down\nSELECT 2;\n-- migrate:up\nSELECT 1;\n');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM counts;
-- Invalid input: SQL text before -- migrate:up, on the first line or later
SELECT migrate.add_script(E'-- migrate:revision e1\nSELECT 1;\n-- migrate:up\n');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM counts;
SELECT migrate.add_script(E'CREATE TABLE t (id int);\n-- migrate:revision e1\n-- migrate:up\n');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM counts;
SELECT migrate.add_script(E'-- migrate:revision e1\n\n/* a block comment is SQL text */\n-- migrate:up\n');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM counts;
-- Invalid input: a header line after -- migrate:up (up section or down section)
SELECT migrate.add_script(E'-- migrate:revision e1\n-- migrate:up\nSELECT 1;\n-- migrate:message late\n');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM counts;
SELECT migrate.add_script(E'-- migrate:revision e1\n-- migrate:up\nSELECT 1;\n-- migrate:down\nSELECT 2;\n-- migrate:parents s1\n');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM counts;
-- Invalid input: the same header key twice
SELECT migrate.add_script(E'-- migrate:revision e1\n-- migrate:revision e2\n-- migrate:up\n');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM counts;
SELECT migrate.add_script(E'-- migrate:revision e1\n-- migrate:parents s1\n-- migrate:message a\n-- migrate:parents s2\n-- migrate:up\n');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM counts;
SELECT migrate.add_script(E'-- migrate:revision e1\n-- migrate:message a\n-- migrate:message a\n-- migrate:up\n');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM counts;
SELECT migrate.add_script(E'-- migrate:revision e1\n-- migrate:depends_on s1\n-- migrate:depends_on s2\n-- migrate:up\n');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM counts;
SELECT migrate.add_script(E'-- migrate:revision e1\n-- migrate:branch_labels x\n\n-- migrate:branch_labels y\n-- migrate:up\n');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM counts;
-- Invalid input: revision without an id (nothing, or blanks only)
SELECT migrate.add_script(E'-- migrate:revision\n-- migrate:up\n');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM counts;
SELECT migrate.add_script(E'-- migrate:message m\n-- migrate:revision \t \n-- migrate:up\n');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM counts;
-- Invalid input: text after -- migrate:up or -- migrate:down on the same line
SELECT migrate.add_script(E'-- migrate:revision e1\n-- migrate:up SELECT 1;\n');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM counts;
SELECT migrate.add_script(E'-- migrate:revision e1\n-- migrate:up\nSELECT 1;\n-- migrate:down DROP\n');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM counts;
-- Invalid input: a CRLF file counts lines as its LF twin does
SELECT migrate.add_script(E'-- migrate:revision e1\r\n\r\n-- migrate:up\r\nSELECT 1;\r\n-- migrate:up\r\n');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM counts;
-- Invalid input: NULL script
SELECT migrate.add_script(NULL);
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM counts;
-- Invalid input: an unterminated block comment, string or dollar quote: no
-- line after it is a marker, and the server's parser refuses the rest of the
-- file as SQL of its section, naming the revision and the line (42601)
SELECT migrate.add_script($f$-- migrate:revision e1
-- migrate:parents s1
-- migrate:up
SELECT 1;
/* not closed /* nested */
-- migrate:down
SELECT 2;
$f$);
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM counts;
SELECT migrate.add_script($f$-- migrate:revision e1
-- migrate:parents s1
-- migrate:up
SELECT 1;
-- migrate:down
SELECT 2;
SELECT 'not closed;
-- migrate:up
$f$);
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM counts;
SELECT migrate.add_script($f$-- migrate:revision e1
-- migrate:parents s1
-- migrate:up
SELECT $a_dollar_quote_tag_longer_than_the_63_bytes_that_an_identifier_may_have$ not closed
$a_dollar_quote_tag_longer_than_the_63_bytes_that_an_identifier_may_have;
-- migrate:down
SELECT 2;
$f$);
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM counts;
-- Invalid input: a statement's line is that of its first word, whatever
-- comments come before it (here line 3 of the up section)
SELECT migrate.add_script($f$-- migrate:revision e1
-- migrate:parents s1
-- migrate:up
SELECT 1; /* a comment
   over two lines */ -- and one more
/* and another */ CREATE INDEX CONCURRENTLY i_e1 ON t_s1 (id);
$f$);
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM counts;

-- Checks shared with migrate.add(), nothing registered
-- Invalid input: a bad id
SELECT migrate.add_script(E'-- migrate:revision bad/id\n-- migrate:parents s1\n-- migrate:up\n');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM counts;
SELECT migrate.add_script(E'-- migrate:revision head\n-- migrate:parents s1\n-- migrate:up\n');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM counts;
-- Invalid input: a bad name in a list
SELECT migrate.add_script(E'-- migrate:revision e1\n-- migrate:parents s1\n-- migrate:branch_labels ok b@d\n-- migrate:up\n');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM counts;
-- Invalid input: a parent or dependency that does not exist
SELECT migrate.add_script(E'-- migrate:revision e1\n-- migrate:parents s1 nope\n-- migrate:up\n');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM counts;
SELECT migrate.add_script(E'-- migrate:revision e1\n-- migrate:parents s1\n-- migrate:depends_on nope\n-- migrate:up\n');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM counts;
-- Invalid input: a branch label already used
SELECT migrate.add_script(E'-- migrate:revision e1\n-- migrate:parents s1\n-- migrate:branch_labels audit\n-- migrate:up\n');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM counts;
-- Invalid input: a syntax error in up and in down, naming the revision
SELECT migrate.add_script(E'-- migrate:revision e1\n-- migrate:parents s1\n-- migrate:up\nCREATE TABLE t_e1 (id int);\nCREAT TABLE t_e2 (id int);\n');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM counts;
SELECT migrate.add_script(E'-- migrate:revision e1\n-- migrate:parents s1\n-- migrate:up\nSELECT 1;\n-- migrate:down\nDROP TABLE TABLE t;\n');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM counts;
-- Invalid input: a statement that cannot run in a transaction block
SELECT migrate.add_script(E'-- migrate:revision e1\n-- migrate:parents s1\n-- migrate:up\nCREATE INDEX CONCURRENTLY i_e1 ON t_s1 (id);\n');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM counts;

-- Idempotence: the same file twice adds no history row
SELECT * FROM counts;
SELECT migrate.add_script(E'-- migrate:revision s1\n-- migrate:message users table\n-- migrate:up\nCREATE TABLE t_s1 (id int PRIMARY KEY);\n\n-- migrate:down\nDROP TABLE t_s1;\n');
SELECT migrate.add_script(E'-- migrate:revision s2\n-- migrate:up\nALTER TABLE t_s1 ADD email text;\n-- migrate:down\nALTER TABLE t_s1 DROP email;');
SELECT * FROM counts;
-- Replacement of an unapplied revision: without a parents line it keeps its parents
SELECT migrate.add_script(E'-- migrate:revision s6\n-- migrate:message now with SQL\n-- migrate:up\nSELECT 6;\n-- migrate:down\nSELECT -6;\n');
SELECT * FROM graph WHERE id = 's6';
SELECT operation, revision FROM migrate.history ORDER BY id DESC LIMIT 1;
SELECT * FROM counts;
-- once applied, other SQL is refused
SELECT revision FROM migrate.upgrade('s2');
-- Invalid input: other SQL for an applied revision
SELECT migrate.add_script(E'-- migrate:revision s1\n-- migrate:message users table\n-- migrate:up\nCREATE TABLE t_s1 (id bigint PRIMARY KEY);\n\n-- migrate:down\nDROP TABLE t_s1;\n');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM counts;
-- trailing line ends are not part of the SQL: without the blank line, the file is the same revision (a no-op)
SELECT migrate.add_script(E'-- migrate:revision s1\n-- migrate:message users table\n-- migrate:up\nCREATE TABLE t_s1 (id int PRIMARY KEY);\n-- migrate:down\nDROP TABLE t_s1;\n');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate, * FROM counts;

-- migrate.script(): the revision as a migration file
\pset format unaligned
\pset tuples_only on
-- parents base for a root; up SQL ending in a newline
SELECT migrate.script('s1');
-- parents; SQL without a trailing newline
SELECT migrate.script('s2');
-- irreversible: no down section; leading blank lines kept
SELECT migrate.script('d1');
-- labels; the message with its own spaces (to_json shows them)
SELECT migrate.script('s3');
SELECT to_json(migrate.script('s3'));
-- a merge with depends_on and empty up and down
SELECT migrate.script('s4');
SELECT to_json(migrate.script('s4'));
-- every key
SELECT migrate.script('s5');
-- blank lines around the SQL
SELECT to_json(migrate.script('0007_long_identifier'));
-- marker words inside SQL constructs are written as they are
SELECT migrate.script('m_comment');
\pset tuples_only off
\pset format aligned
-- by branch label and by unique prefix
SELECT migrate.script('audit') = migrate.script('s3') AS by_label,
       migrate.script('0007') = migrate.script('0007_long_identifier') AS by_prefix;
-- Invalid input: unknown revision, a prefix shorter than 4 characters, NULL
SELECT migrate.script('nope');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT migrate.script('m_e');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT migrate.script(NULL);
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
-- revisions from migrate.add() and migrate.merge() too, with SQL not written
-- as a file: no trailing newline, several trailing newlines, only newlines
SELECT migrate.add('a_add', E'\nSELECT 9;\n\n', E'\n', parents => '{crlf}', message => ' ');
SELECT migrate.add('a_right', '', parents => '{s5}', branch_labels => '{right,r2}');
SELECT migrate.merge(ARRAY['a_add', 'a_right'], message => 'merge  both', id => 'a_merge');
\pset format unaligned
\pset tuples_only on
SELECT to_json(migrate.script('a_add'));
SELECT migrate.script('a_merge');
\pset tuples_only off
\pset format aligned

-- The round trip: add_script(script(r)) is a no-op for every revision
CREATE TEMP TABLE before_round_trip AS
SELECT id, parents, depends_on, branch_labels, message, up_sql, down_sql, checksum, created_at
  FROM migrate.revision;
SELECT * FROM counts;
SELECT count(*) AS round_trips, count(*) FILTER (WHERE migrate.add_script(migrate.script(id)) = id) AS same_id
  FROM migrate.revision;
SELECT * FROM counts;
-- nothing changed, column by column (created_at included: no rewrite)
SELECT id FROM (SELECT id, parents, depends_on, branch_labels, message, up_sql, down_sql, checksum, created_at
                  FROM migrate.revision
                EXCEPT SELECT * FROM before_round_trip) changed;
-- and script() of the result is the same file
SELECT count(*) AS same_script FROM migrate.revision WHERE migrate.script(migrate.add_script(migrate.script(id))) = migrate.script(id);

-- SQL that a file could not hold as it is: add() refuses a marker line
-- outside strings and comments, and stores CRLF and CR line ends as LF, so
-- add_script(script(r)) never changes a revision.
SELECT migrate.add('a_marker', E'SELECT 1;\n-- migrate:down\nSELECT 2;', parents => '{a_merge}');
SELECT migrate.add('a_crlf', E'SELECT 1;\r\nSELECT 2;\r\n', E'SELECT 3;\r', parents => '{a_merge}');
-- add() stores LF line ends and no trailing ones, as files are read
SELECT up_sql = E'SELECT 1;\nSELECT 2;' AS up_normalized, down_sql = 'SELECT 3;' AS down_normalized FROM migrate.revision WHERE id = 'a_crlf';
-- the marker line was refused: a_marker does not exist
SELECT count(*) AS a_marker FROM migrate.revision WHERE id = 'a_marker';
CREATE TEMP TABLE before_lossy AS
SELECT id, up_sql, down_sql, checksum FROM migrate.revision WHERE id = 'a_crlf';
-- the round trip of the CRLF revision registers the same revision again
SELECT migrate.add_script(migrate.script('a_crlf')) AS round_trip;
-- unchanged: no row differs, and no replace in the history
SELECT id FROM (SELECT id, up_sql, down_sql, checksum FROM migrate.revision WHERE id = 'a_crlf'
                EXCEPT SELECT * FROM before_lossy) changed ORDER BY id;
SELECT operation, revision FROM migrate.history WHERE revision IN ('a_marker', 'a_crlf') ORDER BY id;

-- migrate.add_dir(): argument and privileges (the files: test/t/030_add_dir.pl)
-- Invalid input: NULL directory
SELECT * FROM migrate.add_dir(NULL);
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
-- a directory that does not exist (the message names the path: SQLSTATE only)
\set VERBOSITY sqlstate
SELECT * FROM migrate.add_dir('/nonexistent/migrate/regress');
\set VERBOSITY default
SELECT * FROM counts;
-- a role that may call add_dir but lacks pg_read_server_files
CREATE ROLE regress_migrate_files;
GRANT USAGE ON SCHEMA migrate TO regress_migrate_files;
GRANT EXECUTE ON FUNCTION migrate.add_dir(text) TO regress_migrate_files;
SET ROLE regress_migrate_files;
-- Invalid input: permission denied, whatever the directory
SELECT * FROM migrate.add_dir('/nonexistent/migrate/regress');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
RESET ROLE;
-- with pg_read_server_files the call gets as far as the directory
GRANT pg_read_server_files TO regress_migrate_files;
SET ROLE regress_migrate_files;
\set VERBOSITY sqlstate
SELECT * FROM migrate.add_dir('/nonexistent/migrate/regress');
\set VERBOSITY default
RESET ROLE;
SELECT * FROM counts;

-- clean up: the revisions' tables, then the extension
SELECT revision FROM migrate.downgrade('base');
SELECT relname FROM pg_class WHERE relname LIKE 't\_%' AND relkind = 'r' ORDER BY 1;
DROP TABLE before_round_trip, before_lossy;
DROP VIEW counts;
DROP VIEW graph;
REVOKE ALL ON FUNCTION migrate.add_dir(text) FROM regress_migrate_files;
REVOKE ALL ON SCHEMA migrate FROM regress_migrate_files;
REVOKE pg_read_server_files FROM regress_migrate_files;
DROP ROLE regress_migrate_files;
DROP EXTENSION migrate;
CREATE EXTENSION migrate;
