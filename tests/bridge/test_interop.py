"""The ROS 2 bridge against two real DDS implementations, each test once per peer, in a
private network namespace: Eclipse Cyclone DDS (the PyPI `cyclonedds` wheel's libddsc) and
eProsima Fast DDS (Debian's libfastrtps, a C++ peer built from `fastdds_peer/`; ROS 2's
default middleware). Six message types each way with byte equality of the CDR the peer
serializes, transient-local late joiners both ways, and AddTwoInts both ways with each
middleware's way of matching replies to requests."""

from __future__ import annotations

import json
import pathlib
import time
from typing import Any

import omnimesh
from omnimesh.msg.example_interfaces import AddTwoInts

from cases import CALLS, SAMPLES, qos, service_config, slug, write_config

String = omnimesh.message_class("std_msgs/msg/String")


def test_mesh_to_ros(
    tmp_path: pathlib.Path, prefix: str, dds_peer: Any, start_bridge: Any, bridge_metrics: Any
) -> None:
    maps = [{"mesh": f"/to_ros/{slug(t)}", "type": t, "direction": "to_ros"} for t in SAMPLES]
    # The namespace is the test's own: a fixed metrics port cannot collide.
    brg, _ = start_bridge(write_config(tmp_path / "bridge.toml", maps), {"OMNI_MESH_OBS_METRICS": "127.0.0.1:9464"})
    try:
        with omnimesh.Node("mesh_side", shm_prefix=prefix) as node:
            for type_name, values in SAMPLES.items():
                topic = f"/to_ros/{slug(type_name)}"
                cls = omnimesh.message_class(type_name)
                pub = node.publisher(topic, cls, qos())
                # Published before any DDS reader exists: the bridge holds it until one matches.
                pub.publish(cls.from_plain(values))
                sub = dds_peer.start("sub", topic, type_name, "1")
                out, err = sub.finish()
                assert sub.proc.returncode == 0, f"{type_name}: {err}"
                # The peer read the bridge's sample into its own type and serializes it again.
                assert dds_peer.cdrs(out) == [omnimesh.to_cdr(type_name, values).hex()], type_name
            # What left for ROS 2 keeps its mesh sender in the bridge's metrics.
            text = bridge_metrics(9464)
            for type_name in SAMPLES:
                topic = f"/to_ros/{slug(type_name)}"
                labels = f'mesh="{topic}",ros="{topic}",sender="{node.did}"'
                assert f"omnimesh_bridge_sent_to_ros_total{{{labels}}} 1" in text, text
            assert 'node="/ros2_bridge"' in text, "the bridge node's own metrics are served too"
    finally:
        out, err = brg.stop()
    assert "forwarded to ROS 6" in out, out + err


def test_ros_to_mesh(tmp_path: pathlib.Path, prefix: str, dds_peer: Any, start_bridge: Any) -> None:
    maps = [{"mesh": f"/from_ros/{slug(t)}", "type": t, "direction": "from_ros"} for t in SAMPLES]
    brg, did = start_bridge(write_config(tmp_path / "bridge.toml", maps))
    try:
        with omnimesh.Node("mesh_side", shm_prefix=prefix) as node:
            for type_name, values in SAMPLES.items():
                topic = f"/from_ros/{slug(type_name)}"
                sub = node.subscription(topic, omnimesh.message_class(type_name), qos=qos())
                samples = dds_peer.samples_file(tmp_path / slug(type_name), type_name, [values])
                pub = dds_peer.start("pub", topic, type_name, str(samples))
                got = sub.recv(timeout=30.0)
                out, err = pub.finish()
                assert pub.proc.returncode == 0, f"{type_name}: {err}"
                assert got is not None, f"{type_name}: nothing reached the mesh"
                assert got.sender == did, "the bridge vouches for what it brings in"
                # What the peer wrote is what the mesh encodes for the message it received.
                assert dds_peer.cdrs(out) == [omnimesh.to_cdr(type_name, got.msg).hex()], type_name
                assert got.msg == omnimesh.message_class(type_name).from_plain(values)
    finally:
        out, err = brg.stop()
    assert "from ROS 6" in out, out + err


def test_transient_local_late_joiners(
    tmp_path: pathlib.Path, prefix: str, dds_peer: Any, start_bridge: Any
) -> None:
    maps = [
        {"mesh": "/tl/in", "type": "std_msgs/msg/String", "direction": "from_ros", "durability": "transient_local"},
        {"mesh": "/tl/out", "type": "std_msgs/msg/String", "direction": "to_ros", "durability": "transient_local"},
    ]
    kept = [{"data": f"kept {i}"} for i in range(3)]
    samples = dds_peer.samples_file(tmp_path / "tl", "std_msgs/msg/String", kept)
    # A DDS publisher with history, before the bridge exists; it stays 20 s.
    early = dds_peer.start("pub", "/tl/in", "std_msgs/msg/String", str(samples), "--transient-local",
                           "--wait-match", "0", "--linger", "20")
    assert early.line().strip() == "matched"
    brg, _ = start_bridge(write_config(tmp_path / "bridge.toml", maps))
    try:
        with omnimesh.Node("late", shm_prefix=prefix) as node:
            pub = node.publisher("/tl/out", String, qos())
            for i in range(3):
                pub.publish(String(data=f"mesh {i}"))
            time.sleep(1.0)
            # ROS 2 late joiner: gets the history the bridge's DDS writer keeps.
            late = dds_peer.start("sub", "/tl/out", "std_msgs/msg/String", "3", "--transient-local")
            out, err = late.finish()
            assert late.proc.returncode == 0, err
            heard = [omnimesh.from_cdr("std_msgs/msg/String", bytes.fromhex(c))["data"] for c in dds_peer.cdrs(out)]
            assert heard == [f"mesh {i}" for i in range(3)]
            # Mesh side: the bridge read the DDS writer's history when it joined.
            sub = node.subscription("/tl/in", String, qos=qos())
            got = []
            deadline = time.monotonic() + 20
            while len(got) < 3 and time.monotonic() < deadline:
                s = sub.recv(timeout=1.0)
                if s is not None:
                    got.append(s.msg.data)
            assert got == [f"kept {i}" for i in range(3)]
    finally:
        brg.stop()
        early.stop()


def test_mesh_client_calls_a_ros_server(
    tmp_path: pathlib.Path, prefix: str, dds_peer: Any, start_bridge: Any
) -> None:
    brg, did = start_bridge(service_config(tmp_path / "bridge.toml", "ros", rmw=dds_peer.rmw))
    server = dds_peer.start("server", "/add_two_ints", "example_interfaces/srv/AddTwoInts", str(len(CALLS)))
    try:
        assert server.line().strip() == "ready"
        with omnimesh.Node("mesh_client", shm_prefix=prefix) as node:
            client = node.client("/add_two_ints", AddTwoInts)
            for a, b in CALLS:
                # The bridge holds the first request until the ROS server has matched.
                reply = client.call(AddTwoInts.Request(a=a, b=b), timeout=20.0)
                assert reply.sum == a + b
                assert client.last_sender == did, "the bridge vouches for replies from ROS 2"
        out, err = server.finish()
        assert server.proc.returncode == 0, err
        served = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
        assert [[s["a"], s["b"]] for s in served] == CALLS
    finally:
        server.stop()
        out, err = brg.stop()
    assert "forwarded to ROS 3, from ROS 3" in out and "calls unanswered 0" in out, out + err


def test_ros_client_calls_a_mesh_server(
    tmp_path: pathlib.Path, prefix: str, dds_peer: Any, start_bridge: Any
) -> None:
    brg, did = start_bridge(service_config(tmp_path / "bridge.toml", "mesh"))
    callers: list[str] = []

    def add(request: Any, sender: str) -> Any:
        callers.append(sender)
        return AddTwoInts.Response(sum=request.a + request.b)

    calls = dds_peer.calls_file(tmp_path / "calls", CALLS)
    try:
        with omnimesh.Node("mesh_server", shm_prefix=prefix) as node:
            server = node.service("/add_two_ints", AddTwoInts, add)
            client = dds_peer.start("client", "/add_two_ints", "example_interfaces/srv/AddTwoInts", str(calls))
            deadline = time.monotonic() + 60
            while client.proc.poll() is None and time.monotonic() < deadline:
                server.serve_once(timeout=0.05)
            out, err = client.finish()
        assert client.proc.returncode == 0, err
        sums = [json.loads(line) for line in out.splitlines()]
        assert sums == [{"a": a, "b": b, "sum": a + b} for a, b in CALLS]
        assert callers == [did] * len(CALLS), "requests from ROS 2 are signed by the bridge"
    finally:
        out, err = brg.stop()
    assert "forwarded to ROS 3, from ROS 3" in out and "calls unanswered 0" in out, out + err
