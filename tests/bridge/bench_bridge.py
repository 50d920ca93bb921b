"""Bridge bench (not a test): what forwarding through the ROS 2 bridge costs, next to direct
DDS between the same native peers, in the same run, in a private network namespace. Run as
root from the repository root (needs apt `libfastrtps-dev fastddsgen g++`, as the tests):

    cargo build --release -p mesh-bridge-ros2 --bins --examples
    target/py-venv/bin/python tests/bridge/bench_bridge.py [--count 500] [--runs 3]

Peers are native on both sides: the eProsima Fast DDS C++ peer (`fastdds_peer/`, built here
like the tests build it, UDPv4) and a Rust mesh node (`mesh_echo` example, shared memory).
Messages are `sensor_msgs/PointCloud2` with 64 B or 1 MiB of data.

- Round trip: a Fast DDS pinger writes on `/ping` and times each message until it is back on
  `/pong`. Direct: a Fast DDS echo writes it back. Bridged: the bridge brings it into the mesh
  (signed by the bridge), the mesh echo verifies it and publishes it back, the bridge takes it
  to DDS: two bridge crossings per round trip.
- One way: a Fast DDS writer sends N messages back to back (keep all, waiting for
  acknowledgements when its history is full). Direct: a Fast DDS reader counts them.
  Bridged: the mesh echo counts what the bridge brought in (one crossing). The mapping's
  depth is N here, so that the rate is the bridge's and nothing is dropped: with a smaller
  depth, a writer faster than the bridge loses what does not fit (keep-last, as in ROS 2).
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import uuid

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

from peers import build_fastdds_peer  # noqa: E402


def sh(*args: str) -> None:
    subprocess.run(args, check=True)


def popen(args: list[str], netns: str | None, **env: str) -> subprocess.Popen[str]:
    cmd = ["ip", "netns", "exec", netns, *args] if netns else args
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env={**os.environ, **env})


def result(proc: subprocess.Popen[str]) -> dict:
    out, _ = proc.communicate(timeout=600)
    if proc.returncode != 0:
        raise SystemExit(f"{proc.args} failed: {out}")
    return json.loads(out.strip().splitlines()[-1])


def ready(proc: subprocess.Popen[str]) -> None:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not (line.startswith("ready") or line.startswith("bridge ")):
        raise SystemExit(f"{proc.args} did not start: {line}")


def stop(proc: subprocess.Popen[str]) -> None:
    proc.terminate()
    try:
        proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()


def p50(xs: list[float]) -> float:
    return statistics.median(xs)


def p99(xs: list[float]) -> float:
    return statistics.quantiles(xs, n=100)[98]


def bridge_config(path: pathlib.Path, depth: int, max_bytes: int) -> pathlib.Path:
    path.write_text(
        "[mesh]\nnode = \"bench_bridge\"\n\n"
        + "".join(
            f'[[topic]]\nmesh = "{t}"\ntype = "sensor_msgs/msg/PointCloud2"\ndirection = "{d}"\n'
            f"depth = {depth}\nmax_bytes = {max_bytes}\n\n"
            for t, d in (("/ping", "from_ros"), ("/pong", "to_ros"))
        )
    )
    return path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=500, help="round trips per 64 B run (1 MiB: a quarter)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--bridge", default=str(ROOT / "target" / "release" / "omni-mesh-ros2-bridge"))
    parser.add_argument("--echo", default=str(ROOT / "target" / "release" / "examples" / "mesh_echo"))
    args = parser.parse_args()
    fastdds = str(build_fastdds_peer(ROOT / "target" / "fastdds-peer"))
    netns = f"ombench{uuid.uuid4().hex[:6]}"
    prefix = f"bbench{uuid.uuid4().hex[:6]}_"
    configs = pathlib.Path(tempfile.mkdtemp())
    env = {"OMNI_MESH_SHM_PREFIX": prefix, "RUST_LOG": "error"}
    sh("ip", "netns", "add", netns)
    bridge = None
    rows: dict[str, dict[str, list[float]]] = {}
    try:
        for cmd in (("link", "set", "lo", "up"), ("link", "set", "lo", "multicast", "on"),
                    ("route", "add", "224.0.0.0/4", "dev", "lo")):
            sh("ip", "-n", netns, *cmd)
        for run in range(args.runs):
            for size, label in ((64, "64 B"), (1 << 20, "1 MiB")):
                count = args.count if size == 64 else max(args.count // 4, 20)
                burst = 10 * count if size == 64 else count
                max_bytes = 4096 if size == 64 else 1_200_000
                depth = str(burst)
                config = bridge_config(configs / f"{size}.toml", burst, max_bytes)
                row = rows.setdefault(label, {})
                print(f"run {run + 1}/{args.runs}, {label}: round trips ({count}) and one way ({burst})", file=sys.stderr)
                # Direct: Fast DDS to Fast DDS.
                echo = popen([fastdds, "echo", "/ping", "/pong", str(size), "--timeout", "120"], netns)
                ready(echo)
                direct = result(popen([fastdds, "ping", "/ping", "/pong", str(size), str(count)], netns))
                stop(echo)
                counter = popen([fastdds, "count", "/tput", "-", str(size), str(burst), "--timeout", "120"], netns)
                ready(counter)
                sender = popen([fastdds, "burst", "/tput", "-", str(size), str(burst), "--timeout", "120"], netns)
                direct_tp = result(counter)
                result(sender)
                # Through the bridge and the mesh echo.
                bridge = popen([args.bridge, str(config)], netns, **env)
                ready(bridge)
                echo = popen([args.echo, "echo", "120", "0", depth, str(max_bytes)], None, **env)
                ready(echo)
                bridged = result(popen([fastdds, "ping", "/ping", "/pong", str(size), str(count)], netns))
                stop(echo)
                counter = popen([args.echo, "count", "120", str(burst), depth, str(max_bytes)], None, **env)
                ready(counter)
                sender = popen([fastdds, "burst", "/ping", "-", str(size), str(burst), "--timeout", "120"], netns)
                bridged_tp = result(counter)
                result(sender)
                stop(bridge)
                bridge = None
                for key, rtts in (("direct", direct["rtt_us"]), ("bridged", bridged["rtt_us"])):
                    row.setdefault(f"{key} p50", []).append(p50(rtts))
                    row.setdefault(f"{key} p99", []).append(p99(rtts))
                for key, tp in (("direct", direct_tp), ("bridged", bridged_tp)):
                    row.setdefault(f"{key} msg/s", []).append(tp["received"] / max(tp["seconds"], 1e-9))
                    row.setdefault(f"{key} received", []).append(tp["received"])
        for label, row in rows.items():
            print(f"{label}:")
            for key, values in row.items():
                print(f"  {key:18} " + "  ".join(f"{v:12,.1f}" for v in values))
        print(json.dumps(rows))
    finally:
        if bridge is not None:
            bridge.kill()
        subprocess.run(["ip", "netns", "del", netns], check=False)
        for f in pathlib.Path("/dev/shm").glob(f"{prefix}*"):
            f.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
