"""Bridge bench (not a test): what a round trip through the ROS 2 bridge costs, next to the
same round trip between two Cyclone DDS processes, in the same run, in a private network
namespace. Run as root from the repository root after `cargo build --release -p
mesh-bridge-ros2` (or pass `--bridge`), with the test venv (cyclonedds, omnimesh):

    target/py-venv/bin/python tests/bridge/bench_bridge.py [--count 200]

A Cyclone "pinger" writes on `/ping` and times each message until it comes back on `/pong`:
- direct: a Cyclone echo process writes it back;
- bridged: the bridge brings it into the mesh, a mesh node (omnimesh, shared memory) echoes
  it, the bridge takes it back to DDS: two bridge crossings per round trip.
Both echoes are Python, so the difference is the bridge's path. Then one-way throughput:
the pinger sends back to back, and the Cyclone receiver (direct) or the mesh subscriber
(bridged) counts what arrives in order."""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

PEER = r'''
import sys, time, json
sys.path.insert(0, sys.argv[1])
from cyclonedds.core import Qos, Policy
from cyclonedds.domain import DomainParticipant
from cyclonedds.pub import DataWriter
from cyclonedds.sub import DataReader
from cyclonedds.topic import Topic
from cyclonedds.util import duration
from cyclonedds.internal import InvalidSample
from ros_types import PointCloud2
role, size, count = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
q = Qos(Policy.Reliability.Reliable(duration(seconds=1)), Policy.History.KeepLast(64))
dp = DomainParticipant(0)
ping = Topic(dp, "rt/ping", PointCloud2)
pong = Topic(dp, "rt/pong", PointCloud2)
def take(reader, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for s in reader.take(1):
            if not isinstance(s, InvalidSample):
                return s
        time.sleep(0.00005)
    return None
if role == "echo":
    r, w = DataReader(dp, ping, qos=q), DataWriter(dp, pong, qos=q)
    print("ready", flush=True)
    while True:
        s = take(r, 60)
        if s is None:
            break
        w.write(s)
elif role == "count":
    r = DataReader(dp, ping, qos=q)
    print("ready", flush=True)
    got, first, last = 0, None, None
    while got < count:
        s = take(r, 10)
        if s is None:
            break
        last = time.perf_counter()
        first = first or last
        got += 1
    print(json.dumps({"received": got, "seconds": max(last - first, 1e-9)}), flush=True)
else:
    w, r = DataWriter(dp, ping, qos=q), DataReader(dp, pong, qos=q)
    readers = int(sys.argv[5])
    while len(w.get_matched_subscriptions()) < readers:
        time.sleep(0.05)
    time.sleep(1.0)
    msg = PointCloud2(width=size, row_step=size, height=1, data=bytes(size))
    if role == "ping":
        rtts = []
        for i in range(count + 20):
            t = time.perf_counter()
            w.write(msg)
            if take(r, 10) is None:
                print(json.dumps({"error": f"lost at {i}"}), flush=True)
                sys.exit(1)
            if i >= 20:
                rtts.append((time.perf_counter() - t) * 1e6)
        print(json.dumps({"rtts": rtts}), flush=True)
    else:
        for _ in range(count):
            w.write(msg)
        time.sleep(5)
'''

MESH_ECHO = r'''
import sys, json, time, omnimesh
from omnimesh.msg.sensor_msgs import PointCloud2
q = omnimesh.QoS(reliable=True, depth=64, max_bytes=1100000)
with omnimesh.Node("bench_echo", shm_prefix=sys.argv[1]) as node:
    sub = node.subscription("/ping", PointCloud2, qos=q)
    pub = node.publisher("/pong", PointCloud2, q)
    mode, count = sys.argv[2], int(sys.argv[3])
    print("ready", flush=True)
    got, first, last = 0, None, None
    while True:
        s = sub.recv(timeout=60 if got == 0 else 10)
        if s is None:
            break
        if mode == "echo":
            pub.publish_archive(s.archive)
        else:
            last = time.perf_counter()
            first = first or last
            got += 1
            if got == count:
                break
    if mode == "count":
        print(json.dumps({"received": got, "seconds": max(last - first, 1e-9)}), flush=True)
'''


def sh(*args: str) -> None:
    subprocess.run(args, check=True)


def popen(args: list[str], netns: str | None, **env: str) -> subprocess.Popen[str]:
    cmd = ["ip", "netns", "exec", netns, *args] if netns else args
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env={**os.environ, **env})


def peer(netns: str, role: str, size: int, count: int, readers: int = 1) -> subprocess.Popen[str]:
    return popen([sys.executable, "-c", PEER, str(HERE), role, str(size), str(count), str(readers)], netns)


def result(proc: subprocess.Popen[str]) -> dict:
    out, _ = proc.communicate(timeout=600)
    return json.loads(out.strip().splitlines()[-1])


def summary(rtts: list[float]) -> str:
    q = statistics.quantiles(rtts, n=100)
    return f"p50 {statistics.median(rtts):8.1f} us  p99 {q[98]:8.1f} us"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--bridge", default=str(ROOT / "target" / "release" / "omni-mesh-ros2-bridge"))
    args = parser.parse_args()
    netns = f"ombench{uuid.uuid4().hex[:6]}"
    prefix = f"bbench{uuid.uuid4().hex[:6]}_"
    sh("ip", "netns", "add", netns)
    config = pathlib.Path(tempfile.mkdtemp()) / "bridge.toml"
    config.write_text(
        "".join(
            f'[[topic]]\nmesh = "{t}"\ntype = "sensor_msgs/msg/PointCloud2"\ndirection = "{d}"\n'
            f"depth = 64\nmax_bytes = 1100000\n\n"
            for t, d in (("/ping", "from_ros"), ("/pong", "to_ros"))
        )
    )
    bridge = None
    try:
        for cmd in (("link", "set", "lo", "up"), ("link", "set", "lo", "multicast", "on"),
                    ("route", "add", "224.0.0.0/4", "dev", "lo")):
            sh("ip", "-n", netns, *cmd)
        rows = []
        for size, label in ((64, "64 B"), (1 << 20, "1 MiB")):
            count = args.count if size == 64 else max(args.count // 4, 20)
            # Direct: Cyclone to Cyclone.
            echo = peer(netns, "echo", size, count)
            assert echo.stdout.readline().strip() == "ready"
            direct = result(peer(netns, "ping", size, count))
            echo.kill()
            echo.wait()
            # Through the bridge and a mesh echo.
            bridge = popen([args.bridge, str(config)], netns, OMNI_MESH_SHM_PREFIX=prefix, RUST_LOG="error")
            assert bridge.stdout.readline().startswith("bridge ")
            mesh = popen([sys.executable, "-c", MESH_ECHO, prefix, "echo", str(count)], None)
            assert mesh.stdout.readline().strip() == "ready"
            bridged = result(peer(netns, "ping", size, count))
            mesh.kill()
            mesh.wait()
            # One way, back to back.
            counter = peer(netns, "count", size, count)
            assert counter.stdout.readline().strip() == "ready"
            sender = peer(netns, "send", size, count)
            direct_tp = result(counter)
            sender.wait()
            mesh = popen([sys.executable, "-c", MESH_ECHO, prefix, "count", str(count)], None)
            assert mesh.stdout.readline().strip() == "ready"
            sender = peer(netns, "send", size, count)
            bridged_tp = result(mesh)
            sender.wait()
            bridge.terminate()
            bridge.communicate(timeout=20)
            bridge = None
            rows.append((label, count, direct, bridged, direct_tp, bridged_tp))
        for label, count, direct, bridged, dtp, btp in rows:
            print(f"{label}, {count} round trips:")
            print(f"  Cyclone <-> Cyclone            {summary(direct['rtts'])}")
            print(f"  Cyclone <-> bridge <-> mesh    {summary(bridged['rtts'])}")
            print(f"  one way: direct {dtp['received'] / dtp['seconds']:,.0f} msg/s ({dtp['received']} received), "
                  f"through the bridge {btp['received'] / btp['seconds']:,.0f} msg/s ({btp['received']} received)")
    finally:
        if bridge is not None:
            bridge.kill()
        subprocess.run(["ip", "netns", "del", netns], check=False)
        for f in pathlib.Path("/dev/shm").glob(f"{prefix}*"):
            f.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
