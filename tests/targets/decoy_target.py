#!/usr/bin/env python3
"""leaktop test target: a type name that lives in a mapped data file.

usage: decoy_target.py TRUTH HEARTBEAT

Maps TRUTH.decoy (a plain file, not ELF) privately and unmodified, so a
core keeps none of its pages, and points the tp_name of the builtin type
`range` at its first bytes ("decoy_range_name"), with five ranges alive.
A core of this process names the file in its notes; a reader that takes
the file's content from the disk shows whatever the file holds by then as
a type name.  The truth: the file's path.
"""
import ctypes
import mmap
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import open_heartbeat, publish, sleep_until_orphaned  # noqa: E402

TRUTH, HEARTBEAT = sys.argv[1], sys.argv[-1]
DECOY = TRUTH + ".decoy"

with open(DECOY, "wb") as f:
    f.write(b"decoy_range_name\0".ljust(4096, b"\0"))
with open(DECOY, "rb") as f:
    MAPPED = mmap.mmap(f.fileno(), 4096, flags=mmap.MAP_PRIVATE,
                       prot=mmap.PROT_READ | mmap.PROT_WRITE)
VIEW = ctypes.c_char.from_buffer(MAPPED)    # read only: the pages stay the file's
# tp_name follows the object header and ob_size (a debug build's header is
# larger: sys.getsizeof(object()) is the header's size)
TP_NAME = sys.getsizeof(object()) + 8
ctypes.c_void_p.from_address(id(range) + TP_NAME).value = ctypes.addressof(VIEW)
KEEP = [range(i) for i in range(5)]
publish(TRUTH, {"pid": os.getpid(), "decoy": DECOY, "name": type(KEEP[0]).__name__})
sleep_until_orphaned(open_heartbeat(HEARTBEAT))
