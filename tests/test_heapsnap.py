#!/usr/bin/env python3
"""The heap as a DevTools heap snapshot: `dump --format heapsnapshot` (TAP).

Against heapsnap_target.py (3,000 Leaky objects in registry.items["leaks"],
40 Local objects in a running function's local, 7 in a second thread's,
one object only C holds),
checked on every interpreter:
- the export is one JSON document, V8's layout (its meta, keys in V8's
  order) and self-consistent: node_count * 7 numbers, edge counts summing
  to the edges, every to_node a node's first field, every name a string,
  unique ids, the root first (id 1);
- its nodes are leaktop's reference graph (as many as `why --json` counts,
  plus the synthetic root, (GC roots), (Global handles) and one per
  thread), named by type: as many __main__.Leaky as the target made and
  the census counts, their self sizes sys.getsizeof;
- its edges carry why's labels from each kind of root: __main__ >
  __dict__ > ['registry'] > items > ['leaks'] > [i] to every Leaky; the
  thread (its id and name) > the running frame > kept > [i] to every Local,
  and the same from a second thread;
  (GC roots) > held from C > (Global handles) > the HeldFromC object;
- memlab's parser (npm @memlab/heap-analysis, installed by
  scripts/setup-memlab outside the repository; skipped without it) loads
  it with the same node and edge counts and names, finds the 3,000 Leaky,
  and its shortest paths go the same ways;
- the target runs untraced afterwards.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import harness as H  # noqa: E402

GROUPS = ("the export is V8's heap snapshot JSON, self-consistent",
          "its nodes are the reference graph, named by type and sized as sys.getsizeof",
          "its edges carry why's labels from the module, thread and held-from-C roots",
          "memlab loads it: the same counts, the Leaky objects and their paths",
          "target running and untraced afterwards")
NODE_FIELDS = ["type", "name", "id", "self_size", "edge_count", "trace_node_id", "detachedness"]
EDGE_FIELDS = ["type", "name_or_index", "to_node"]
EDGE_TYPES = ["context", "element", "property", "internal", "hidden", "shortcut", "weak"]
KEYS = ["snapshot", "nodes", "edges", "trace_function_infos", "trace_tree", "samples",
        "locations", "strings"]
MEMLAB_SKIP = H.MissingTool("memlab is not installed (scripts/check runs scripts/setup-memlab)")
CHECK_JS = os.path.join(H.HERE, "memlab_check.js")


def memlab_dir():
    """Where scripts/setup-memlab installed memlab, if it did and node runs."""
    if not shutil.which("node"):
        return None
    try:
        out = subprocess.run([os.path.join(H.REPO, "scripts", "setup-memlab"), "--print"],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             timeout=20).stdout.decode()
    except (OSError, subprocess.SubprocessError):
        return None
    d = out.strip()
    return d if d and os.path.isdir(d) else None


class Heap(object):
    """The snapshot's graph, parsed: nodes by ordinal, edges by source."""

    def __init__(self, doc):
        meta = doc["snapshot"]["meta"]
        self.doc = doc
        self.ntypes = meta["node_types"][0]
        self.etypes = meta["edge_types"][0]
        nodes, self.strings = doc["nodes"], doc["strings"]
        self.n = len(nodes) // len(NODE_FIELDS)
        self.type = [self.ntypes[t] for t in nodes[0::7]]
        self.name = [self.strings[s] for s in nodes[1::7]]
        self.id = nodes[2::7]
        self.size = nodes[3::7]
        self.first = [0]
        for c in nodes[4::7]:
            self.first.append(self.first[-1] + c)
        edges = doc["edges"]
        self.edges = []     # (type, name or index, to ordinal)
        for k in range(0, len(edges), 3):
            t = self.etypes[edges[k]]
            self.edges.append((t, edges[k + 1] if t in ("element", "hidden")
                               else self.strings[edges[k + 1]], edges[k + 2] // 7))

    def out(self, i):
        return self.edges[self.first[i]:self.first[i + 1]]

    def retainers(self):
        ret = [[] for _ in range(self.n)]
        for i in range(self.n):
            for t, nm, to in self.out(i):
                ret[to].append((i, t, nm))
        return ret

    def named(self, name):
        return [i for i in range(self.n) if self.name[i] == name and self.type[i] == "object"]

    def follow(self, i, label):
        """The nodes i refers to by an edge labelled so (a module's __dict__
        is referred to twice: as a field and as its instance dict)."""
        return sorted(set(to for t, nm, to in self.out(i) if nm == label))


def consistency(p, doc):
    """Every structural promise the format makes, checked in full."""
    p.require(list(doc) == KEYS, "keys %s, want %s" % (list(doc), KEYS))
    snap, meta = doc["snapshot"], doc["snapshot"]["meta"]
    p.check(meta["node_fields"] == NODE_FIELDS, "node_fields %r" % meta["node_fields"])
    p.check(meta["edge_fields"] == EDGE_FIELDS, "edge_fields %r" % meta["edge_fields"])
    p.check(meta["edge_types"][0] == EDGE_TYPES, "edge types %r" % meta["edge_types"][0])
    p.check(all(t in meta["node_types"][0] for t in ("object", "hidden", "synthetic")) and
            meta["node_types"][1:] == ["string"] + ["number"] * 5,
            "node_types %r" % meta["node_types"])
    p.check(meta.get("location_fields") == ["object_index", "script_id", "line", "column"],
            "location_fields %r" % meta.get("location_fields"))
    p.check(snap["trace_function_count"] == 0 and doc["locations"] == [] and
            doc["samples"] == [], "traces or locations where none are kept")
    nodes, edges, strings = doc["nodes"], doc["edges"], doc["strings"]
    nn = len(nodes) // 7
    p.require(len(nodes) == snap["node_count"] * 7, "%d numbers for %d nodes" % (
        len(nodes), snap["node_count"]))
    p.require(len(edges) == snap["edge_count"] * 3, "%d numbers for %d edges" % (
        len(edges), snap["edge_count"]))
    p.check(sum(nodes[4::7]) == snap["edge_count"], "edge counts sum to %d, not %d" % (
        sum(nodes[4::7]), snap["edge_count"]))
    p.check(all(type(x) is int and 0 <= x < 1 << 32 for x in nodes + edges),
            "a number that is not an unsigned 32-bit integer")
    p.check(all(0 <= t < len(meta["node_types"][0]) for t in nodes[0::7]), "bad node type")
    p.check(all(s < len(strings) for s in nodes[1::7]), "a node name past the strings")
    p.check(len(set(nodes[2::7])) == nn and nodes[2] == 1, "ids not unique, or root not id 1")
    p.check(all(x == 0 for x in nodes[5::7] + nodes[6::7]), "trace or detachedness set")
    bad = [k for k in range(0, len(edges), 3) if not (
        edges[k] < len(EDGE_TYPES) and edges[k + 2] % 7 == 0 and edges[k + 2] < len(nodes) and
        (EDGE_TYPES[edges[k]] in ("element", "hidden") or edges[k + 1] < len(strings)))]
    p.check(not bad, "%d bad edges, the first %r" % (len(bad), edges[bad[0]:bad[0] + 3]
                                                      if bad else None))
    p.check(len(set(strings)) == len(strings), "strings repeat")


def leaky_chain(p, hp, truth, labels):
    """root > __main__ > __dict__ > ['registry'] > items > ['leaks'] > [i]."""
    mod = hp.follow(0, truth["path"][0])
    p.require(len(mod) == 1 and hp.name[mod[0]] == "builtins.module",
              "root's %r: %r" % (truth["path"][0], [hp.name[i] for i in mod]))
    d = hp.follow(mod[0], "__dict__")
    reg = hp.follow(d[0], "['%s']" % truth["path"][1]) if len(d) == 1 else []
    p.require(len(reg) == 1 and hp.name[reg[0]] == "__main__.Registry",
              "['registry'] of __main__'s dict: %r" % [hp.name[i] for i in reg])
    attr = truth["path"][2]
    items = hp.follow(reg[0], attr)  # 3.11+: no dict object between
    if not items:
        rd = hp.follow(reg[0], "__dict__")
        items = hp.follow(rd[0], "['%s']" % attr) if len(rd) == 1 else []
    p.require(len(items) == 1 and hp.name[items[0]] == "builtins.dict",
              "registry's %s: %r (its references %r)" % (attr, items, hp.out(reg[0])))
    lst = hp.follow(items[0], "['%s']" % truth["path"][3])
    p.require(len(lst) == 1 and hp.name[lst[0]] == "builtins.list", "['leaks']: %r" % lst)
    got = hp.out(lst[0])
    p.check([(t, nm) for t, nm, _ in got] == [("element", k) for k in range(truth["count"])] and
            set(hp.name[to] for _, _, to in got) == {truth["class"]} and
            len(set(to for _, _, to in got)) == truth["count"],
            "the list's references are not %d Leaky elements [0]..[%d]" % (
                truth["count"], truth["count"] - 1))
    labels.append("__main__ > __dict__ > ['registry'] > %s > ['leaks'] > [i]" % (
        attr if hp.follow(reg[0], attr) else "__dict__ > ['%s']" % attr))


def local_chain(p, hp, ret, loc, thread, py, names):
    """thread TID (NAME) > [k] > the running frame > VARIABLE > [i]: the
    objects a running function's local holds.  names: the thread node's
    names that are right (leaktop names the main thread only)."""
    objs = hp.named(loc["class"])
    p.require(len(objs) == loc["count"], "%d %s, want %d" % (len(objs), loc["class"],
                                                                loc["count"]))
    holders = set()
    for i in objs:
        r = ret[i]
        p.require(len(r) == 1 and r[0][1] == "element", "%s held by %r" % (loc["class"], r))
        holders.add(r[0][0])
    p.require(len(holders) == 1, "%s in %d lists" % (loc["class"], len(holders)))
    lst = holders.pop()
    p.require(len(ret[lst]) == 1, "the list's retainers: %r" % ret[lst])
    frame, t, nm = ret[lst][0]
    p.check((t, nm) == ("property", loc["variable"]), "the list held as %s %r" % (t, nm))
    if py.version >= (3, 11):
        p.check((hp.type[frame], hp.name[frame]) == ("hidden", "(frame %s)" % loc["function"]),
                "the frame is %s %r" % (hp.type[frame], hp.name[frame]))
    else:
        p.check(hp.name[frame] == "builtins.frame", "the frame is %r" % hp.name[frame])
    up = [r for r in ret[frame] if hp.type[r[0]] == "hidden"]
    p.require(len(up) == 1 and up[0][1:] == ("element", 0),
              "the frame's thread: %r (its running frame is element 0)" % ret[frame])
    th = up[0][0]
    if thread["tid"] is None:
        names = [hp.name[th]]
    p.check(hp.name[th] in names and ret[th] == [(0, "property", hp.name[th])],
            "thread node %r held by %r, want one of %r from the root" % (hp.name[th], ret[th],
                                                                         names))
    return th


def held_from_c(p, hp, ret, truth):
    """(GC roots) > held from C > (Global handles) > [k] > HeldFromC, or
    through what holds it there (3.14 keeps atexit's callbacks in a list
    of tuples that C holds)."""
    objs = hp.named(truth["held_from_c"])
    p.require(len(objs) == 1, "%d %s" % (len(objs), truth["held_from_c"]))
    chain, i = [], objs[0]
    while hp.name[i] != "(Global handles)" and len(chain) < 4:
        p.require(len(ret[i]) == 1, "%s held by %r" % (hp.name[i], [
            (hp.name[a], t, nm) for a, t, nm in ret[i]]))
        chain.append((hp.name[i], ret[i][0][1]))
        i = ret[i][0][0]
    p.require(hp.name[i] == "(Global handles)" and chain[-1][1] == "element",
              "HeldFromC's retainers: %r" % chain)
    p.check([(hp.name[a], t, nm) for a, t, nm in ret[i]] ==
            [("(GC roots)", "property", "held from C")] and
            [(hp.name[a], t) for a, t, _ in ret[ret[i][0][0]]] == [("", "element")],
            "(Global handles) held by %r" % ret[i])
    return " < ".join(nm for nm, _ in chain) + " < (Global handles)"


def path_labels(path):
    return [s["edge"] for s in path or []][:-1]


def memlab(p, mdir, path, doc, truth):
    names = [truth["class"], truth["local"]["class"], truth["worker"]["class"],
             truth["held_from_c"]]
    r = subprocess.run(["node", CHECK_JS, mdir, path] + names, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=300)
    p.require(r.returncode == 0, "memlab_check: status %d: %s" % (
        r.returncode, r.stderr.decode(errors="replace")[-2000:]))
    m = json.loads(r.stdout.decode().strip().splitlines()[-1])
    p.check((m["nodes"], m["edges"], m["root"]) ==
            (doc["snapshot"]["node_count"], doc["snapshot"]["edge_count"], 1),
            "memlab: %d nodes, %d edges, root id %r; the file: %d, %d" % (
                m["nodes"], m["edges"], m["root"], doc["snapshot"]["node_count"],
                doc["snapshot"]["edge_count"]))
    leaky = m["names"][truth["class"]]
    p.check((leaky["count"], leaky["bytes"]) == (truth["count"], truth["count"] * truth["size"]),
            "memlab: %d %s of %d bytes, want %d of %d" % (
                leaky["count"], truth["class"], leaky["bytes"], truth["count"],
                truth["count"] * truth["size"]))
    got = path_labels(leaky["path"])
    want = ["__main__", "__dict__", "['registry']", "items", "['leaks']"]
    old = ["__main__", "__dict__", "['registry']", "__dict__", "['items']", "['leaks']"]
    p.check(got[:-1] in (want, old) and isinstance(got[-1], int) and
            leaky["path"][0]["id"] == 1 and leaky["path"][-1]["node"] == truth["class"],
            "memlab's path to a Leaky: %r" % leaky["path"])
    for want in (truth["local"], truth["worker"]):
        loc = m["names"][want["class"]]
        got = path_labels(loc["path"])
        p.check(loc["count"] == want["count"] and len(got) == 4 and
                got[0] == loc["path"][1]["node"] and str(got[0]).startswith("thread ") and
                got[1] == 0 and got[2] == want["variable"],
                "memlab: %d %s, path %r" % (loc["count"], want["class"], loc["path"]))
    held = m["names"][truth["held_from_c"]]
    p.check(held["count"] == 1 and [s["node"] for s in held["path"] or []][:2] ==
            ["(GC roots)", "(Global handles)"],
            "memlab: %d HeldFromC, path %r" % (held["count"], held["path"]))
    p.diag("memlab: %d nodes, %d edges; a Leaky: %s" % (
        m["nodes"], m["edges"], " > ".join(str(x) for x in path_labels(leaky["path"]))))


def thread_nodes(doc):
    """Ordinals of the nodes the root refers to that are hidden: threads."""
    nodes, edges = doc["nodes"], doc["edges"]
    return [edges[k + 2] // 7 for k in range(0, 3 * nodes[4], 3) if nodes[edges[k + 2]] == 0]


def export(pid):
    """The export, and why's count of the graph's nodes right after it."""
    args = ["dump", "--format", "heapsnapshot", pid]
    rc, out, err = H.run_leaktop(args, timeout=120)
    doc = None
    if rc == 0:
        try:
            doc = json.loads(out)
        except ValueError as e:
            err += "\n[test] not JSON: %s" % e
    wrc, wout, _ = H.run_leaktop(["why", "--json", pid, "__main__.Leaky"], timeout=120)
    try:
        graph = json.loads(wout)["graph"]["nodes"] if wrc == 0 else None
    except (ValueError, KeyError, TypeError):
        graph = None
    return args, rc, out, err, doc, graph


def graph_differs(doc, graph):
    """The export does not count why's nodes plus its own (or is broken:
    the first point says how)."""
    try:
        return doc["snapshot"]["node_count"] != graph + 3 + len(thread_nodes(doc))
    except (KeyError, IndexError, TypeError):
        return False


def run_python(tap, py):
    descs = ["heapsnapshot: %s [%s]" % (g, py.label) for g in GROUPS]
    if py.skip_reason:
        for d in descs:
            tap.skip(d, py.skip_reason)
        return
    mdir = memlab_dir()
    tmp = tempfile.mkdtemp(prefix="leaktop-test-")
    try:
        with H.start_target(py, "heapsnap_target.py") as target:
            truth, pid = target.truth, target.pid
            args, rc, out, err, doc, graph = export(pid)
            if doc and graph is not None and graph_differs(doc, graph):
                # the heartbeat loop ran between the two: once more
                args, rc, out, err, doc, graph = export(pid)
            hp = None
            with tap.point(descs[0]) as p:
                p.require(doc is not None, "\n".join(H.describe_run(args, rc, out[:3000], err)))
                consistency(p, doc)
                hp = Heap(doc)
                p.diag("%d nodes, %d edges, %d strings, %d bytes" % (
                    hp.n, len(hp.edges), len(hp.strings), len(out)))
            with tap.point(descs[1]) as p:
                p.require(hp, "no export")
                threads = thread_nodes(doc)
                p.check(hp.type[:3] == ["synthetic"] * 3 and
                        hp.name[:3] == ["", "(GC roots)", "(Global handles)"] and
                        threads == list(range(3, 3 + len(threads))) and len(threads) >= 1,
                        "first nodes %r" % list(zip(hp.type[:5], hp.name[:5])))
                p.check(graph is not None and hp.n == graph + 3 + len(threads),
                        "%d nodes: why counts %r in the graph, plus 3 synthetic and %d threads"
                        % (hp.n, graph, len(threads)))
                leaky = hp.named(truth["class"])
                p.check(len(leaky) == truth["count"], "%d %s, the target made %d" % (
                    len(leaky), truth["class"], truth["count"]))
                p.check(set(hp.size[i] for i in leaky) == {truth["size"]},
                        "Leaky sizes %r, sys.getsizeof says %d" % (
                            sorted(set(hp.size[i] for i in leaky)), truth["size"]))
                rc2, out2, err2 = H.run_leaktop(["dump", "--json", pid], timeout=120)
                census = {}
                if rc2 == 0:
                    census = {t["type"]: (t["count"], t["bytes"])
                              for t in json.loads(out2)["census"]["types"]}
                p.check(census.get(truth["class"]) == (len(leaky), sum(hp.size[i] for i in leaky)),
                        "the census says %r of %s" % (census.get(truth["class"]), truth["class"]))
            with tap.point(descs[2]) as p:
                p.require(hp, "no export")
                labels = []
                leaky_chain(p, hp, truth, labels)
                ret = hp.retainers()
                main, worker = truth["thread"], truth["worker"]
                threads = [local_chain(p, hp, ret, truth["local"], main, py,
                                       ["thread %s (%s)" % (main["tid"], main["name"])]),
                           local_chain(p, hp, ret, worker, worker, py,
                                       ["thread %s" % worker["tid"],
                                        "thread %s (%s)" % (worker["tid"], worker["name"])])]
                p.check(sorted(threads) == thread_nodes(doc),
                        "thread nodes %r, the threads' %r" % (thread_nodes(doc), threads))
                labels.append(held_from_c(p, hp, ret, truth))
                unnamed = sum(1 for t, nm, _ in hp.edges if nm == "?")
                p.check(unnamed == 0, "%d edges without a label" % unnamed)
                p.diag("; ".join(labels))
            with tap.point(descs[3]) as p:
                p.require(hp, "no export")
                if not mdir:
                    p.skip(MEMLAB_SKIP)
                path = os.path.join(tmp, "x.heapsnapshot")
                with open(path, "w", encoding="utf-8") as f:
                    f.write(out)
                memlab(p, mdir, path, doc, truth)
            with tap.point(descs[4]) as p:
                p.untraced(pid)
                target.assert_alive_progressing()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    H.run_each(run_python, one_mode=True)
