"""Large fields without copies: arrays of primitives in received messages are read-only
memoryviews over the received bytes (shared memory itself for ``zero_copy`` subscriptions),
numpy arrays made from them share that memory, and the views keep the bytes alive."""

from __future__ import annotations

import gc
import os
import pathlib
import signal
import subprocess

import numpy as np
import omnimesh
from omnimesh.msg.sensor_msgs import LaserScan, PointCloud2

MIB = 1 << 20


def mapping_of(address: int) -> str:
    """The file mapped at ``address`` in this process ("" for anonymous memory)."""
    for line in pathlib.Path("/proc/self/maps").read_text().splitlines():
        parts = line.split(maxsplit=5)
        start, end = (int(x, 16) for x in parts[0].split("-"))
        if start <= address < end:
            return parts[5] if len(parts) == 6 else ""
    raise AssertionError(f"{address:#x} is not mapped")


def address_of(view: memoryview) -> int:
    return int(np.frombuffer(view, dtype=np.uint8).__array_interface__["data"][0])


def cloud(n: int) -> PointCloud2:
    data = bytes(i % 251 for i in range(n))
    return PointCloud2(height=1, width=n // 16, point_step=16, row_step=n, data=data)


def test_views_point_into_shared_memory(prefix: str) -> None:
    qos = omnimesh.QoS(max_bytes=MIB + 4096)
    with omnimesh.Node("camera", shm_prefix=prefix) as node:
        in_place = node.subscription("/cloud", PointCloud2, qos=qos, zero_copy=True)
        private = node.subscription("/cloud", PointCloud2, qos=qos)
        pub = node.publisher("/cloud", PointCloud2, qos=qos)
        sent = cloud(MIB)
        pub.publish(sent)

        sample = in_place.recv(timeout=5.0)
        assert sample is not None
        data = sample.msg.data
        assert isinstance(data, memoryview) and data.readonly and data.format == "B"
        assert len(data) == MIB and data == sent.data and sample.msg == sent
        archive = sample.archive
        assert archive.in_place
        # The view is the archive's bytes: no copy, and numpy shares them too.
        start = address_of(data)
        assert archive.address <= start and start + MIB <= archive.address + len(archive)
        assert address_of(sample.msg.data) == start
        array = np.asarray(data)
        assert array.__array_interface__["data"][0] == start
        assert not array.flags.writeable
        # ... and those bytes are the publisher's shared memory, mapped from /dev/shm.
        assert mapping_of(start).startswith(f"/dev/shm/{prefix}"), mapping_of(start)

        # The default subscription verified one private copy; views point into it.
        copied = private.recv(timeout=5.0)
        assert copied is not None
        assert not copied.archive.in_place
        view = copied.msg.data
        assert isinstance(view, memoryview)
        assert copied.archive.address <= address_of(view) < copied.archive.address + len(copied.archive)
        assert not mapping_of(address_of(view)).startswith("/dev/shm/")
        assert view == sent.data


def test_views_keep_the_bytes_alive_and_can_be_published(prefix: str) -> None:
    with omnimesh.Node("scanner", shm_prefix=prefix) as node:
        sub = node.subscription("/scan", LaserScan, zero_copy=True)
        pub = node.publisher("/scan", LaserScan)
        ranges = [i / 8 for i in range(360)]
        pub.publish(LaserScan(angle_increment=0.0175, ranges=ranges, intensities=[1.0, 2.0]))
        sample = sub.recv(timeout=5.0)
        assert sample is not None
        view = sample.msg.ranges
        assert isinstance(view, memoryview) and view.format == "f" and len(view) == 360
        assert view.tolist() == ranges  # exact in float32: multiples of 1/8
        assert np.frombuffer(view, dtype=np.float32)[8] == 1.0
        address = address_of(view)
        archive = sample.archive
        assert archive.address <= address < archive.address + len(archive)

        # The message and sample go; the view keeps the bytes (and their slot) alive.
        del sample, archive
        gc.collect()
        assert view.tolist() == ranges and address_of(view) == address

        # Views (and numpy arrays) publish like lists.
        echo_sub = node.subscription("/echo", LaserScan)
        echo = node.publisher("/echo", LaserScan)
        echo.publish(LaserScan(ranges=view, intensities=np.array([3.0, 4.0], dtype=np.float32)))
        back = echo_sub.recv(timeout=5.0)
        assert back is not None
        assert back.msg.ranges.tolist() == ranges
        assert back.msg.intensities.tolist() == [3.0, 4.0]


def test_rust_lidar_clouds_are_read_in_place(prefix: str, binaries: pathlib.Path) -> None:
    env = dict(os.environ, OMNI_MESH_MODE="development")
    with omnimesh.Node("py_perception", shm_prefix=prefix) as node:
        # The lidar's topic keeps two clouds (its publisher fixes the queue depth).
        qos = omnimesh.QoS(depth=2, max_bytes=MIB + 4096)
        sub = node.subscription("/lidar/points", PointCloud2, qos=qos, zero_copy=True)
        lidar = subprocess.Popen(
            [binaries / "lidar_sim", "--shm-prefix", prefix],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            sample = sub.recv(timeout=20.0)
            assert sample is not None, "no cloud from lidar_sim"
            msg = sample.msg
            assert msg.point_step == 16 and len(msg.data) == msg.row_step * msg.height == MIB
            assert sample.archive.in_place
            start = address_of(msg.data)
            assert mapping_of(start).startswith(f"/dev/shm/{prefix}")
            points = np.frombuffer(msg.data, dtype=np.float32).reshape(-1, 4)
            assert points.__array_interface__["data"][0] == start
            radius = np.hypot(points[:, 0], points[:, 1])
            assert float(radius.max()) > 0.0, "the cloud carries points"
        finally:
            lidar.send_signal(signal.SIGTERM)
            try:
                lidar.wait(timeout=10)
            except subprocess.TimeoutExpired:
                lidar.kill()
                lidar.wait()
