"""Fixtures of the bridge interop tests: a private network namespace per test (only `lo`,
with multicast routed to it, as the DDS peers need), the workspace binaries, a private
shared-memory prefix, and a bridge process started inside the namespace."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
HERE = pathlib.Path(__file__).resolve().parent
TARGET = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "debug"


def sh(*args: str) -> None:
    subprocess.run(args, check=True, capture_output=True, text=True)


@pytest.fixture
def netns() -> Iterator[str]:
    name = f"omb{uuid.uuid4().hex[:8]}"
    sh("ip", "netns", "add", name)
    try:
        sh("ip", "-n", name, "link", "set", "lo", "up")
        sh("ip", "-n", name, "link", "set", "lo", "multicast", "on")
        sh("ip", "-n", name, "route", "add", "224.0.0.0/4", "dev", "lo")
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False)


@pytest.fixture
def prefix() -> Iterator[str]:
    tag = f"brg{uuid.uuid4().hex[:8]}_"
    yield tag
    for f in pathlib.Path("/dev/shm").glob(f"{tag}*"):
        f.unlink(missing_ok=True)


@pytest.fixture(scope="session")
def binaries() -> pathlib.Path:
    subprocess.run(
        ["cargo", "build", "-q", "-p", "mesh-bridge-ros2", "-p", "omni-mesh-nodes", "--bins"],
        cwd=ROOT,
        check=True,
    )
    return TARGET


class Process:
    """A process in the namespace, stopped (SIGTERM, then SIGKILL) at the end."""

    def __init__(self, args: list[str], netns: str, env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", netns, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **(env or {})},
            cwd=HERE,
        )

    def line(self) -> str:
        assert self.proc.stdout is not None
        return self.proc.stdout.readline()

    def finish(self, timeout: float = 60.0) -> tuple[str, str]:
        out, err = self.proc.communicate(timeout=timeout)
        return out, err

    def stop(self) -> tuple[str, str]:
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            return self.proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.communicate()


def peer(netns: str, *args: str) -> Process:
    return Process([sys.executable, str(HERE / "cyclone_peer.py"), *args], netns)


def bridge(
    netns: str, binaries: pathlib.Path, prefix: str, config: pathlib.Path, env: dict[str, str] | None = None
) -> tuple[Process, str]:
    """Starts the bridge; returns it and its mesh DID once it is up."""
    proc = Process(
        [str(binaries / "omni-mesh-ros2-bridge"), str(config)], netns, {"OMNI_MESH_SHM_PREFIX": prefix, **(env or {})}
    )
    first = proc.line()
    if not first.startswith("bridge did:key:"):
        out, err = proc.stop()
        raise AssertionError(f"bridge did not start: {first}{out}{err}")
    return proc, first.split()[1]


@pytest.fixture
def cyclone(netns: str) -> Any:
    """Starts a Cyclone DDS peer in the namespace: `cyclone("sub", topic, type, count)`."""
    return lambda *args: peer(netns, *args)


@pytest.fixture
def start_bridge(netns: str, binaries: pathlib.Path, prefix: str) -> Any:
    """Starts the bridge with a configuration file: `(process, did) = start_bridge(path)`
    (`start_bridge(path, {"VAR": "value"})` adds environment variables)."""
    return lambda config, env=None: bridge(netns, binaries, prefix, config, env)


def metrics_of(netns: str, port: int) -> str:
    """The bridge's Prometheus text, fetched inside the namespace."""
    fetch = f"import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:{port}/metrics').read().decode())"
    out = subprocess.run(["ip", "netns", "exec", netns, sys.executable, "-c", fetch], check=True,
                         capture_output=True, text=True)
    return out.stdout


@pytest.fixture
def bridge_metrics(netns: str) -> Any:
    """`bridge_metrics(port)`: the Prometheus text of a bridge in this test's namespace."""
    return lambda port: metrics_of(netns, port)


@pytest.fixture(scope="session")
def fastdds_peer_bin() -> pathlib.Path:
    """The Fast DDS peer, built under the target directory (see peers.py)."""
    from peers import build_fastdds_peer

    return build_fastdds_peer(TARGET.parent / "fastdds-peer")


@pytest.fixture
def fastdds(netns: str, fastdds_peer_bin: pathlib.Path) -> Any:
    """Starts a Fast DDS peer in the namespace: `fastdds("sub", topic, type, count)`."""
    return lambda *args: Process([str(fastdds_peer_bin), *args], netns)


class DdsPeer:
    """One DDS implementation's test peer: how to start it in the namespace, how it takes
    samples and calls to send, and how it reports what it received."""

    def __init__(self, rmw: str, command: list[str], netns: str) -> None:
        self.rmw = rmw  # the ROS 2 middleware whose service convention it speaks
        self.command = command
        self.netns = netns

    def __repr__(self) -> str:
        return self.rmw

    def start(self, *args: str) -> Process:
        return Process([*self.command, *args], self.netns)

    def samples_file(self, stem: pathlib.Path, type_name: str, values: list[dict[str, Any]]) -> pathlib.Path:
        """Samples for `pub`: plain values (Cyclone's Python types), or whole CDR per line,
        which Fast DDS deserializes into its own types before writing."""
        import omnimesh
        from cases import for_peer

        if self.rmw == "cyclonedds":
            path = stem.with_suffix(".json")
            path.write_text(json.dumps([for_peer(v) for v in values]))
        else:
            path = stem.with_suffix(".hex")
            path.write_text("".join(omnimesh.to_cdr(type_name, v).hex() + "\n" for v in values))
        return path

    def calls_file(self, stem: pathlib.Path, calls: list[list[int]]) -> pathlib.Path:
        """AddTwoInts calls for `client`."""
        path = stem.with_suffix(".txt")
        if self.rmw == "cyclonedds":
            path.write_text(json.dumps(calls))
        else:
            path.write_text("".join(f"{a} {b}\n" for a, b in calls))
        return path

    @staticmethod
    def cdrs(out: str) -> list[str]:
        """The CDR (hex) of each sample a peer printed, as it serializes them."""
        return [json.loads(line)["cdr"] for line in out.splitlines() if line.startswith("{")]


@pytest.fixture(params=["cyclonedds", "fastdds"])
def dds_peer(request: pytest.FixtureRequest, netns: str) -> DdsPeer:
    """Each test using it runs against Cyclone DDS and against Fast DDS."""
    if request.param == "cyclonedds":
        return DdsPeer("cyclonedds", [sys.executable, str(HERE / "cyclone_peer.py")], netns)
    exe = request.getfixturevalue("fastdds_peer_bin")
    return DdsPeer("fastdds", [str(exe)], netns)
