#!/usr/bin/python3
"""Alembic's answers, for the differential test (060_alembic_differential.pl, beside it).

Reads one JSON request per line on stdin and writes one JSON answer per line.
A request is {"revs": [[id, [parents], [depends_on], [labels]], ...],
"applied": [ids], "op": "upgrade" | "downgrade" | "stamp" | "range",
"target": text}.  The graph is given to Alembic's own RevisionMap, the plan is
made by Alembic's own ScriptDirectory methods (_upgrade_revs, _downgrade_revs,
_stamp_revs, walk_revisions) and carried out by its HeadMaintainer, with the
version table kept in memory.  The answer is {"applied": [ids]} (the applied
set after the operation: every ancestor of the new heads, through parents and
depends_on), {"revisions": [ids]} for a range, or {"error": text} where
Alembic raises.  No database is used.
"""
import json
import sys
import warnings

from alembic.runtime import migration
from alembic.script import revision as rv
from alembic.script.base import ScriptDirectory
from alembic import util


class _Module:
    """What a migration script's module offers a RevisionStep."""

    @staticmethod
    def upgrade():
        pass

    @staticmethod
    def downgrade():
        pass


class Rev(rv.Revision):
    """A Revision with the module a RevisionStep needs."""

    module = _Module


class Heads(migration.HeadMaintainer):
    """Alembic's HeadMaintainer over an in-memory version table."""

    def __init__(self, heads):
        self.heads = set(heads)

    def _insert_version(self, version):
        assert version not in self.heads
        self.heads.add(version)

    def _delete_version(self, version):
        self.heads.remove(version)

    def _update_version(self, from_, to_):
        assert to_ not in self.heads
        self.heads.remove(from_)
        self.heads.add(to_)


def script_directory(revs):
    """A ScriptDirectory whose revisions are the request's, nothing on disk."""
    def generator():
        for rid, parents, depends, labels in revs:
            down = None if not parents else (parents[0] if len(parents) == 1 else tuple(parents))
            yield Rev(rid, down, branch_labels=tuple(labels) or None,
                      dependencies=tuple(depends) or None)
    sd = ScriptDirectory.__new__(ScriptDirectory)
    sd.revision_map = rv.RevisionMap(generator)
    return sd


def version_table(sd, applied):
    """The version table Alembic keeps for an applied set: its maximal members."""
    rmap = sd.revision_map
    below = set()
    for rid in applied:
        for anc in rmap._get_ancestor_nodes([rmap.get_revision(rid)]):
            if anc.revision != rid:
                below.add(anc.revision)
    return sorted(set(applied) - below)


def applied_set(sd, heads):
    """Every revision the version table's heads stand for."""
    rmap = sd.revision_map
    revs = [rmap.get_revision(h) for h in heads]
    return sorted({r.revision for r in rmap._get_ancestor_nodes(revs)})


def answer(req):
    """Alembic's answer to one request."""
    sd = script_directory(req["revs"])
    op, target = req["op"], req["target"]
    heads = version_table(sd, req.get("applied", []))
    current = tuple(heads)
    if op == "range":
        lower, _, upper = target.partition(":")
        revs = sd.walk_revisions(base=lower or "base", head=upper or "heads")
        return {"revisions": [r.revision for r in revs]}
    if op == "upgrade":
        steps = sd._upgrade_revs(target, current)
    elif op == "downgrade":
        steps = sd._downgrade_revs(target, current)
    else:
        steps = sd._stamp_revs(target, current)
    hm = Heads(heads)
    for step in steps:
        hm.update_to_step(step)
    return {"applied": applied_set(sd, hm.heads),
            "steps": [s.revision.revision for s in steps
                      if isinstance(s, migration.RevisionStep)]}


def main():
    warnings.simplefilter("ignore")
    for line in sys.stdin:
        req = json.loads(line)
        try:
            out = answer(req)
        except (rv.RevisionError, util.CommandError, AssertionError,
                KeyError, ValueError, TypeError, AttributeError) as e:
            out = {"error": "%s: %s" % (type(e).__name__, e)}
        sys.stdout.write(json.dumps(out) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
