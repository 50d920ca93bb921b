"""Building the Fast DDS peer (`fastdds_peer/`): fastddsgen turns the IDL into C++ types and
their CDR type support, g++ links them with Debian's libfastrtps. Used by the tests and the
bench; the build is kept in the target directory and redone when a source changed."""

from __future__ import annotations

import pathlib
import subprocess

SOURCES = pathlib.Path(__file__).resolve().parent / "fastdds_peer"


def build_fastdds_peer(out: pathlib.Path) -> pathlib.Path:
    """Builds (when stale) and returns the `fastdds_peer` executable under `out`."""
    exe = out / "fastdds_peer"
    sources = [SOURCES / "ros_types.idl", SOURCES / "fastdds_peer.cpp"]
    if exe.exists() and all(s.stat().st_mtime < exe.stat().st_mtime for s in sources):
        return exe
    out.mkdir(parents=True, exist_ok=True)
    for s in sources:
        (out / s.name).write_bytes(s.read_bytes())
    subprocess.run(["fastddsgen", "-replace", "ros_types.idl"], cwd=out, check=True, capture_output=True)
    subprocess.run(
        ["g++", "-std=c++14", "-O2", "-o", "fastdds_peer.new", "fastdds_peer.cpp", "ros_types.cxx",
         "ros_typesPubSubTypes.cxx", "-lfastrtps", "-lfastcdr"],
        cwd=out,
        check=True,
    )
    (out / "fastdds_peer.new").replace(exe)
    return exe
