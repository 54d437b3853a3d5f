#!/usr/bin/env python3
"""leaktop test target: long chains, ordinary heaps.

usage: chain_target.py TRUTH HEARTBEAT

- DEEP: lists nested 300,000 deep (DEEP[0][0]...[0] is the innermost);
- CHAIN: a linked list of 60,000 Node objects through their `next`.
Chains from the roots are as long as these; `why` must build them all in
time linear in the graph.  The truth: the innermost list's address, the
depth, and how many Node objects exist (gc.get_objects, exact).
"""
import gc
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import open_heartbeat, publish, sleep_until_orphaned  # noqa: E402

TRUTH, HEARTBEAT = sys.argv[1], sys.argv[-1]
DEPTH, LENGTH = 300000, 60000


class Node(object):
    def __init__(self):
        self.next = None


def build():
    global DEEP, CHAIN
    DEEP = []
    cur = DEEP
    for _ in range(DEPTH):
        nxt = []
        cur.append(nxt)
        cur = nxt
    CHAIN = Node()
    node = CHAIN
    for _ in range(LENGTH - 1):
        node.next = Node()
        node = node.next
    return id(cur), id(node)


def main():
    innermost, last = build()
    gc.collect()
    gc.disable()
    nodes = sum(1 for o in gc.get_objects() if type(o) is Node)
    publish(TRUTH, {"pid": os.getpid(), "depth": DEPTH, "innermost": "0x%x" % innermost,
                    "last_node": "0x%x" % last, "nodes": nodes})
    sleep_until_orphaned(open_heartbeat(HEARTBEAT))


main()
