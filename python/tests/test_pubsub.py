"""Pub/sub within Python: typed messages, verified senders, QoS, errors."""

from __future__ import annotations

import pathlib
import subprocess
import time

import pytest

import omnimesh
from omnimesh import _native
from omnimesh.msg.geometry_msgs import Twist, Vector3
from omnimesh.msg.sensor_msgs import Imu
from omnimesh.msg.std_msgs import String


def test_publish_and_receive_typed_messages(prefix: str) -> None:
    with omnimesh.Node("talker", shm_prefix=prefix) as a, omnimesh.Node("listener", shm_prefix=prefix) as b:
        sub = b.subscription("/cmd", Twist)
        pub = a.publisher("/cmd", Twist)
        sent = Twist(linear=Vector3(x=0.5), angular=Vector3(z=-0.25))
        pub.publish(sent)
        sample = sub.recv(timeout=2.0)
        assert sample is not None
        assert sample.msg == sent
        assert sample.sender == a.did
        assert sample.sender.startswith("did:key:z6Mk")
        assert sample.sequence == 1


def test_fixed_arrays_defaults_and_bounds(prefix: str) -> None:
    with omnimesh.Node("imu", shm_prefix=prefix) as node:
        sub = node.subscription("/imu", Imu)
        pub = node.publisher("/imu", Imu)
        imu = Imu()
        assert len(imu.orientation_covariance) == 9
        assert imu.orientation.w == 1.0  # declared default
        imu.linear_acceleration.z = 9.81
        imu.angular_velocity_covariance = [float(i) for i in range(9)]
        pub.publish(imu)
        got = sub.recv(timeout=2.0)
        assert got is not None and got.msg == imu
        imu.orientation_covariance = [0.0] * 8
        with pytest.raises(omnimesh.MessageError, match="exactly 9"):
            pub.publish(imu)


def test_wrong_types_are_refused(prefix: str) -> None:
    with omnimesh.Node("n", shm_prefix=prefix) as node:
        pub = node.publisher("/chatter", String)
        with pytest.raises(TypeError):
            pub.publish(Twist())  # type: ignore[arg-type]
        with pytest.raises(omnimesh.MessageError, match="linear"):
            omnimesh.encode("geometry_msgs/msg/Twist", {"linear": {"x": "fast"}})
        with pytest.raises(omnimesh.ConfigError, match="mode"):
            omnimesh.Node("m", shm_prefix=prefix, mode="open")
        with pytest.raises(omnimesh.ConfigError):
            omnimesh.Node("bad name!", shm_prefix=prefix)
    with pytest.raises(omnimesh.Error, match="closed"):
        node.publisher("/x", String)


def test_bytes_match_rust_archives() -> None:
    # The archive Python builds is the one Rust builds: the type registry is shared.
    archive = omnimesh.encode("std_msgs/msg/String", {"data": "hello"})
    assert omnimesh.decode("std_msgs/msg/String", archive) == {"data": "hello"}
    assert omnimesh.type_hash("std_msgs/msg/String") == String.TYPE_HASH
    assert omnimesh.type_hash("geometry_msgs/msg/Twist") == Twist.TYPE_HASH


def test_callbacks_timers_and_exceptions(prefix: str, capsys: pytest.CaptureFixture[str]) -> None:
    with omnimesh.Node("spinner", shm_prefix=prefix) as node:
        pub = node.publisher("/ticks", String)
        got: list[str] = []

        @node.subscription("/ticks", String)
        def on_tick(sample: omnimesh.Sample[String]) -> None:
            if sample.msg.data == "boom":
                raise ValueError("callback failure")
            got.append(sample.msg.data)

        ticks = iter(["a", "boom", "b"])

        @node.timer(0.02)
        def tick() -> None:
            data = next(ticks, None)
            if data is not None:
                pub.publish(String(data=data))

        node.spin(0.5)
        assert got == ["a", "b"]
        assert "callback failure" in capsys.readouterr().err


def test_waiting_on_many_ports_at_once(prefix: str, binaries: pathlib.Path) -> None:
    with omnimesh.Node("waiter", shm_prefix=prefix) as node, omnimesh.Node("sender", shm_prefix=prefix) as other:
        subs = [node.subscription(f"/t{i}", String) for i in range(3)]
        ports = [s._native for s in subs]
        pubs = [other.publisher(f"/t{i}", String) for i in range(3)]
        assert _native.wait_any(ports, 0.05) == []
        pubs[1].publish(String(data="one"))
        assert _native.wait_any(ports, 5.0) == [1]
        # The wake-up was consumed: the next wait blocks until a new message.
        assert _native.wait_any(ports, 0.05) == []
        got = subs[1].recv(0.0)
        assert got is not None and got.msg.data == "one"
        with pytest.raises(TypeError, match="subscriptions and servers"):
            _native.wait_any([pubs[0]._native], 0.0)

        # spin waits on every callback's port at once and wakes at the first message, here
        # from a Rust talker in another process.
        heard: list[str] = []
        node.subscription("/chatter", String, callback=lambda s: heard.append(s.msg.data))
        node.subscription("/quiet", String, callback=lambda s: heard.append("quiet"))
        talker = subprocess.Popen(
            [binaries / "talker", "--count", "3", "--interval-ms", "200", "--shm-prefix", prefix],
            stdout=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 20
            while not heard and time.monotonic() < deadline:
                started = time.monotonic()
                node.spin_once(timeout=10.0)
                if not heard:
                    assert time.monotonic() - started < 9.0, "woke before the timeout"
            assert heard and heard[0].startswith("hello ")
        finally:
            talker.wait(timeout=20)
