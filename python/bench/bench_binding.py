"""Python binding bench, next to the Rust reference in the same run.

Measures, for a 64-byte std_msgs/String over shared memory:
- same thread, one node: publish then receive, N times (lightweight security: every
  signature checked, as in the Rust reference), through
  (a) the full Python API (dataclass -> plain values -> native encode -> publish; receive ->
      native decode -> dataclass),
  (b) the archive path (`publish_archive` / `recv_archive`: the native calls alone);
- cross process: messages/s a Python subscriber process receives from a Python publisher;
- 1 MiB point clouds (archive published, message received and its data read): a
  `zero_copy` subscription (memoryview over shared memory) and a default one (one private
  copy), against the Rust zero-copy typed subscriber;
and runs `node-loop` (Rust: typed API, raw archives on the thread-safe flavour, raw plus the
dynamic conversion) in the same run. Binding overhead = (a) - Rust raw_dynamic.

    pip install ./python                      # a release wheel
    cargo build --release -p mesh-benches --bin node-loop
    python python/bench/bench_binding.py [--count 50000]
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import sys
import time
import uuid

import omnimesh
from omnimesh.msg.sensor_msgs import PointCloud2
from omnimesh.msg.std_msgs import String

CLOUD_BYTES = 1 << 20

ROOT = pathlib.Path(__file__).resolve().parents[2]

RECEIVER = """
import sys, time, omnimesh
from omnimesh.msg.sensor_msgs import PointCloud2
from omnimesh.msg.std_msgs import String

CLOUD_BYTES = 1 << 20
node = omnimesh.Node("bench_rx", shm_prefix=sys.argv[1], mode="lightweight", trust=[sys.argv[3]])
sub = node.subscription("/bench/xp", String, qos=omnimesh.QoS(reliable=True, depth=256))
print("ready", flush=True)
count, first = 0, None
while count < int(sys.argv[2]):
    if sub.recv(timeout=10.0) is None:
        break
    if first is None:
        first = time.perf_counter()
    count += 1
print(count / (time.perf_counter() - first), flush=True)
"""


def same_thread(prefix: str, count: int) -> tuple[float, float]:
    msg = String(data="x" * 56)
    with omnimesh.Node("bench", shm_prefix=prefix, mode="lightweight") as node:
        # The same channel settings as the Rust reference (frames up to 4 KiB).
        qos = omnimesh.QoS(max_bytes=4096)
        pub = node.publisher("/bench/st", String, qos)
        sub = node.subscription("/bench/st", String, qos=qos)
        for _ in range(1000):
            pub.publish(msg)
            sub.recv(1.0)
        t = time.perf_counter()
        for _ in range(count):
            pub.publish(msg)
            sub.recv(1.0)
        full = (time.perf_counter() - t) / count * 1e9
        native_pub = pub._native
        native_sub = sub._native
        archive = omnimesh.encode(String.TYPE_NAME, msg)
        t = time.perf_counter()
        for _ in range(count):
            native_pub.publish_archive(archive)
            native_sub.recv_archive(1.0)
        archive_ns = (time.perf_counter() - t) / count * 1e9
    return full, archive_ns


def clouds(prefix: str, count: int) -> tuple[float, float]:
    """ns per 1 MiB cloud: zero-copy subscription, then the default (private copy)."""
    cloud = PointCloud2(height=1, width=65536, point_step=16, row_step=CLOUD_BYTES, data=bytes(CLOUD_BYTES))
    archive = omnimesh.encode(PointCloud2.TYPE_NAME, cloud)
    qos = omnimesh.QoS(max_bytes=CLOUD_BYTES + 4096)
    out = []
    with omnimesh.Node("bench_cloud", shm_prefix=prefix, mode="lightweight") as node:
        pub = node.publisher("/bench/cloud", PointCloud2, qos)
        for zero_copy in (True, False):
            sub = node.subscription("/bench/cloud", PointCloud2, qos=qos, zero_copy=zero_copy)
            t = time.perf_counter()
            for _ in range(count):
                pub.publish_archive(archive)
                sample = sub.recv(1.0)
                assert sample is not None and len(sample.msg.data) == CLOUD_BYTES
                del sample
            out.append((time.perf_counter() - t) / count * 1e9)
            node._subscriptions.remove(sub)
            del sub
    return out[0], out[1]


def cross_process(prefix: str, count: int) -> float:
    msg = String(data="x" * 56)
    with omnimesh.Node("bench_tx", shm_prefix=prefix, mode="lightweight") as node:
        rx = subprocess.Popen([sys.executable, "-c", RECEIVER, prefix, str(count), node.did], stdout=subprocess.PIPE, text=True)
        assert rx.stdout.readline().strip() == "ready"
        pub = node.publisher("/bench/xp", String, qos=omnimesh.QoS(reliable=True, depth=256))
        time.sleep(0.2)
        for _ in range(count):
            pub.publish(msg)
        out, _ = rx.communicate(timeout=120)
    return float(out.strip())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=50_000)
    parser.add_argument("--node-loop", default=str(ROOT / "target" / "release" / "node-loop"))
    args = parser.parse_args()
    prefix = f"bench{uuid.uuid4().hex[:6]}_"
    try:
        rust = json.loads(subprocess.run([args.node_loop, str(args.count)], check=True, capture_output=True, text=True).stdout)
        full, archive = same_thread(prefix, args.count)
        xp = cross_process(prefix, args.count)
        cloud_zc, cloud_copy = clouds(prefix, rust["clouds"])
    finally:
        for f in pathlib.Path("/dev/shm").glob(f"{prefix}*"):
            f.unlink(missing_ok=True)
    print(f"64-byte std_msgs/String, {args.count} messages, same thread (publish + receive):")
    print(f"  Rust typed API                     {rust['typed_ns'] / 1000:8.2f} us/msg  {1e9 / rust['typed_ns']:>10,.0f} msg/s")
    print(f"  Rust raw archives (thread-safe)    {rust['raw_threadsafe_ns'] / 1000:8.2f} us/msg  {1e9 / rust['raw_threadsafe_ns']:>10,.0f} msg/s")
    print(f"  Rust raw + dynamic conversion      {rust['raw_dynamic_ns'] / 1000:8.2f} us/msg  {1e9 / rust['raw_dynamic_ns']:>10,.0f} msg/s")
    print(f"  Python archive path                {archive / 1000:8.2f} us/msg  {1e9 / archive:>10,.0f} msg/s")
    print(f"  Python full API                    {full / 1000:8.2f} us/msg  {1e9 / full:>10,.0f} msg/s")
    print(f"  binding overhead (Python full - Rust raw + dynamic): {(full - rust['raw_dynamic_ns']) / 1000:.2f} us/msg")
    print(f"cross process, Python -> Python, reliable: {xp:,.0f} msg/s")
    print(f"1 MiB PointCloud2, {rust['clouds']} clouds, same thread (publish archive + receive + read data):")
    print(f"  Rust typed, zero-copy subscriber   {rust['cloud_zero_copy_ns'] / 1000:8.1f} us/cloud")
    print(f"  Python zero_copy (shm memoryview)  {cloud_zc / 1000:8.1f} us/cloud")
    print(f"  Python default (one private copy)  {cloud_copy / 1000:8.1f} us/cloud")
    print(f"  binding overhead, zero-copy: {(cloud_zc - rust['cloud_zero_copy_ns']) / 1000:.1f} us/cloud")
    if os.environ.get("OMNI_BENCH_JSON"):
        print(json.dumps({"rust": rust, "python_full_ns": full, "python_archive_ns": archive, "cross_process_msg_s": xp,
                          "python_cloud_zero_copy_ns": cloud_zc, "python_cloud_copy_ns": cloud_copy}))


if __name__ == "__main__":
    main()
