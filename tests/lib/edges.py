"""leaktop's reference graph (the LEAKTOP_TEST_EDGES hook) against the
interpreter's own traversal (a target's _common.traversal())."""
import collections


def read_graph(path):
    """({address: type name}, {address: set of addresses it refers to})."""
    nodes, out = {}, collections.defaultdict(set)
    with open(path) as f:
        for line in f:
            kind, a, b = line.rstrip("\n").split(" ", 2)
            if kind == "N":
                nodes[a] = b
            else:
                out[a].add(b)
    return nodes, out


def recall(truth, nodes, out):
    """(followed, total, missing edges by (referrer type, referent type)).

    An edge counts as followed when leaktop goes through an object the GC
    does not track that the interpreter's traversal looks through (an
    lru_cache wrapper visits the keys and results of its links; leaktop
    follows each link, which owns them)."""
    types = truth["types"]
    total = found = 0
    missing = collections.Counter()
    for src, refs in truth["edges"].items():
        if src not in nodes:
            continue              # gone since the truth was taken
        mine = out.get(src, ())
        for dst in refs:
            total += 1
            if dst in mine or any(x not in types and dst in out.get(x, ()) for x in mine):
                found += 1
            else:
                missing[(types[src], types.get(dst) or nodes.get(dst) or "?")] += 1
    return found, total, missing


def check_recall(p, truth, nodes, graph, want):
    """The TAP checks: at least want of the edges, the missing ones by type."""
    found, total, missing = recall(truth, nodes, graph)
    p.diag("%d of %d edges followed (%.3f%%)" % (found, total, 100.0 * found / max(total, 1)))
    p.check(total and found >= want * total, "recall %.4f < %.3f; missing, by referrer and "
            "referent type:\n  %s" % (found / max(total, 1), want, "\n  ".join(
                "%5d %s -> %s" % (n, a, b) for (a, b), n in missing.most_common(15))))
