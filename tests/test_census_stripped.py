#!/usr/bin/env python3
"""The census tests on stripped builds with no debug info at all (TAP).

Debian's python3.X ships stripped; its DWARF is in a separate debug file
(python3-dbg).  Here that file is hidden from leaktop (LEAKTOP_DEBUGINFO_PATH
points nowhere), so leaktop must read the interpreter through its built-in
layout table (or, 3.13+, the debug offsets) and still give the exact
census: test_census.py's scenarios and checks, run on those builds only.
Interpreters with DWARF inside their own files are not stripped: skipped.
Those of the Debian sid/trixie roots (scripts/setup-pythons) are included,
chrooted and in a mount namespace: their debug files in the root's own
/usr/lib/debug are hidden the same way.
"""
import os
import sys

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))
sys.path.insert(0, HERE)
import harness as H  # noqa: E402


def stripped_pythons():
    out = []
    for py in H.find_pythons():
        if py.stripped and not py.hide_debug:   # the others hide it for every test
            out.append(py)
    return out


if __name__ == "__main__":
    if "LEAKTOP_PYTHONS" not in os.environ:
        found = stripped_pythons()
        if not found:
            print("1..0 # SKIP no stripped CPython (Debian's python3.X) on this machine")
            sys.exit(0)
        H._PYTHONS = found         # the harness's list, restricted to them
    os.environ["LEAKTOP_DEBUGINFO_PATH"] = "/nonexistent-debuginfo"
    import test_census  # noqa: E402
    H.run_main(test_census.main)
