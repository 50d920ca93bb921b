"""The ROS 2 bridge against Eclipse Cyclone DDS (the real libddsc, from the PyPI
`cyclonedds` wheel) in a private network namespace: six message types each way, byte
equality of the CDR with what Cyclone serializes, transient-local late joiners, and no loops
when a topic is bridged both ways."""

from __future__ import annotations

import json
import pathlib
import time
from typing import Any

import omnimesh

from cases import SAMPLES, for_peer, qos, slug, write_config


def test_mesh_to_cyclone(
    tmp_path: pathlib.Path, prefix: str, cyclone: Any, start_bridge: Any, bridge_metrics: Any
) -> None:
    maps = [{"mesh": f"/to_ros/{slug(t)}", "type": t, "direction": "to_ros"} for t in SAMPLES]
    config = write_config(tmp_path / "bridge.toml", maps)
    # The namespace is the test's own: a fixed port cannot collide.
    brg, _ = start_bridge(config, {"OMNI_MESH_OBS_METRICS": "127.0.0.1:9464"})
    try:
        with omnimesh.Node("mesh_side", shm_prefix=prefix) as node:
            for type_name, values in SAMPLES.items():
                topic = f"/to_ros/{slug(type_name)}"
                cls = omnimesh.message_class(type_name)
                pub = node.publisher(topic, cls, qos())
                # Published before any DDS reader exists: the bridge holds it until one matches.
                pub.publish(cls.from_plain(values))
                sub = cyclone("sub", topic, type_name, "1")
                out, err = sub.finish()
                assert sub.proc.returncode == 0, f"{type_name}: {err}"
                got = json.loads(out.splitlines()[-1])
                assert got["cdr"] == omnimesh.to_cdr(type_name, values).hex(), type_name
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


def test_cyclone_to_mesh(tmp_path: pathlib.Path, prefix: str, cyclone: Any, start_bridge: Any) -> None:
    maps = [{"mesh": f"/from_ros/{slug(t)}", "type": t, "direction": "from_ros"} for t in SAMPLES]
    config = write_config(tmp_path / "bridge.toml", maps)
    brg, did = start_bridge(config)
    try:
        with omnimesh.Node("mesh_side", shm_prefix=prefix) as node:
            for type_name, values in SAMPLES.items():
                topic = f"/from_ros/{slug(type_name)}"
                sub = node.subscription(topic, omnimesh.message_class(type_name), qos=qos())
                samples = tmp_path / f"{slug(type_name)}.json"
                samples.write_text(json.dumps([for_peer(values)]))
                pub = cyclone("pub", topic, type_name, str(samples))
                got = sub.recv(timeout=30.0)
                out, err = pub.finish()
                assert pub.proc.returncode == 0, f"{type_name}: {err}"
                assert got is not None, f"{type_name}: nothing reached the mesh"
                assert got.sender == did, "the bridge vouches for what it brings in"
                sent = json.loads(out.splitlines()[1])["cdr"]
                assert omnimesh.to_cdr(type_name, got.msg).hex() == sent, type_name
                assert got.msg == omnimesh.message_class(type_name).from_plain(values)
    finally:
        out, err = brg.stop()
    assert "from ROS 6" in out, out + err


def test_transient_local_late_joiners(tmp_path: pathlib.Path, prefix: str, cyclone: Any, start_bridge: Any) -> None:
    maps = [
        {"mesh": "/tl/in", "type": "std_msgs/msg/String", "direction": "from_ros", "durability": "transient_local"},
        {"mesh": "/tl/out", "type": "std_msgs/msg/String", "direction": "to_ros", "durability": "transient_local"},
    ]
    config = write_config(tmp_path / "bridge.toml", maps)
    # A Cyclone publisher with history, before the bridge exists.
    samples = tmp_path / "tl.json"
    samples.write_text(json.dumps([{"data": f"kept {i}"} for i in range(3)]))
    early = cyclone("pub", "/tl/in", "std_msgs/msg/String", str(samples), "--transient-local",
                 "--wait-match", "0", "--linger", "20")
    assert early.line().strip() == "matched"
    brg, _ = start_bridge(config)
    try:
        with omnimesh.Node("late", shm_prefix=prefix) as node:
            tl = omnimesh.QoS(reliable=True, depth=10, max_bytes=2_200_000)
            pub = node.publisher("/tl/out", omnimesh.message_class("std_msgs/msg/String"), tl)
            for i in range(3):
                pub.publish(omnimesh.message_class("std_msgs/msg/String")(data=f"mesh {i}"))
            time.sleep(1.0)
            # ROS 2 late joiner: gets the history the bridge's DDS writer keeps.
            late = cyclone("sub", "/tl/out", "std_msgs/msg/String", "3", "--transient-local")
            out, err = late.finish()
            assert late.proc.returncode == 0, err
            assert [json.loads(x)["msg"]["data"] for x in out.splitlines()[1:]] == [f"mesh {i}" for i in range(3)]
            # Mesh side: the bridge read the Cyclone writer's history when it joined.
            sub = node.subscription("/tl/in", omnimesh.message_class("std_msgs/msg/String"), qos=tl)
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


def test_both_ways_without_loops(tmp_path: pathlib.Path, prefix: str, cyclone: Any, start_bridge: Any) -> None:
    config = write_config(
        tmp_path / "bridge.toml", [{"mesh": "/chat", "type": "std_msgs/msg/String", "direction": "both"}]
    )
    brg, did = start_bridge(config)
    String = omnimesh.message_class("std_msgs/msg/String")
    try:
        with omnimesh.Node("mesh_side", shm_prefix=prefix) as node:
            sub = node.subscription("/chat", String, qos=qos())
            ros_sub = cyclone("sub", "/chat", "std_msgs/msg/String", "2", "--timeout", "15")
            assert ros_sub.line().strip() == "ready"
            pub = node.publisher("/chat", String, qos())
            pub.publish(String(data="from the mesh"))
            samples = tmp_path / "chat.json"
            samples.write_text(json.dumps([{"data": "from ROS"}]))
            # Two readers: the Cyclone subscriber and the bridge.
            ros_pub = cyclone("pub", "/chat", "std_msgs/msg/String", str(samples), "--wait-match", "2")
            ros_pub.finish()
            heard = []
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                s = sub.recv(timeout=0.5)
                if s is not None:
                    heard.append((s.msg.data, s.sender == did))
            out, ros_err = ros_sub.finish()
            assert ros_sub.proc.returncode == 0, ros_err
            ros_heard = sorted(json.loads(x)["msg"]["data"] for x in out.splitlines())  # "ready" was read
    finally:
        out, err = brg.stop()
    # Each side hears each message once: its own, and the other side's through the bridge.
    assert sorted(heard) == [("from ROS", True), ("from the mesh", False)], heard
    assert ros_heard == ["from ROS", "from the mesh"], ros_heard
    assert "forwarded to ROS 1, from ROS 1; held back 2" in out, out + err


def test_two_bridges_learn_each_other(tmp_path: pathlib.Path, prefix: str, cyclone: Any, start_bridge: Any) -> None:
    # Two bridges on one mesh and one DDS domain, both bridging /chat both ways: without
    # their announcements they would pass every message back and forth for ever.
    maps = [{"mesh": "/chat", "type": "std_msgs/msg/String", "direction": "both"}]
    a_cfg = write_config(tmp_path / "a.toml", maps)
    b_cfg = write_config(tmp_path / "b.toml", maps)
    b_cfg.write_text(b_cfg.read_text().replace('node = "ros2_bridge"', 'node = "ros2_bridge_b"'))
    a, a_did = start_bridge(a_cfg)
    b, b_did = start_bridge(b_cfg)
    String = omnimesh.message_class("std_msgs/msg/String")
    try:
        time.sleep(2.0)  # announcements: at start, then every second
        with omnimesh.Node("mesh_side", shm_prefix=prefix) as node:
            mesh_side = node.did
            sub = node.subscription("/chat", String, qos=qos())
            ros_sub = cyclone("sub", "/chat", "std_msgs/msg/String", "3", "--timeout", "15")
            assert ros_sub.line().strip() == "ready"
            pub = node.publisher("/chat", String, qos())  # kept: its samples live in its memory
            pub.publish(String(data="from the mesh"))
            samples = tmp_path / "chat.json"
            samples.write_text(json.dumps([{"data": "from ROS"}]))
            # Three readers: the Cyclone subscriber and both bridges.
            cyclone("pub", "/chat", "std_msgs/msg/String", str(samples), "--wait-match", "3").finish()
            heard = []
            deadline = time.monotonic() + 6
            while time.monotonic() < deadline:
                s = sub.recv(timeout=0.5)
                if s is not None:
                    heard.append((s.msg.data, s.sender))
            out, err = ros_sub.finish()
            assert ros_sub.proc.returncode == 0, err
            ros_heard = sorted(json.loads(x)["msg"]["data"] for x in out.splitlines())
    finally:
        a_out, a_err = a.stop()
        b_out, b_err = b.stop()
    # Each bridge forwards each message once; nothing comes back round.
    assert sorted(heard) == sorted([("from the mesh", mesh_side), ("from ROS", a_did), ("from ROS", b_did)]), heard
    assert ros_heard == ["from ROS", "from the mesh", "from the mesh"], ros_heard
    for out, err in ((a_out, a_err), (b_out, b_err)):
        assert "forwarded to ROS 1, from ROS 1" in out, out + err[-3000:]
        assert "learnt a peer bridge" in err, err[-3000:]


def test_the_bridge_is_a_node_of_the_ros_graph(tmp_path: pathlib.Path, cyclone: Any, start_bridge: Any) -> None:
    maps = [
        {"mesh": "/out", "type": "std_msgs/msg/String", "direction": "to_ros"},
        {"mesh": "/in", "type": "std_msgs/msg/String", "direction": "from_ros"},
    ]
    brg, _ = start_bridge(write_config(tmp_path / "bridge.toml", maps))
    try:
        # What `ros2 node list` reads: the bridge's node with its reader and writer GIDs.
        graph = cyclone("graph", "-", "-", "-", "--timeout", "20")
        out, err = graph.finish()
        assert graph.proc.returncode == 0, err
    finally:
        brg.stop()
    entry = json.loads(out.splitlines()[-1])
    [node] = entry["nodes"]
    assert (node["namespace"], node["name"]) == ("/", "omni_mesh_bridge")
    assert len(node["readers"]) == 1 and len(node["writers"]) == 1
    # Every GID is a GUID of the bridge's participant (the same 12-byte prefix).
    prefix = entry["gid"][:24]
    assert node["readers"][0][:24] == prefix and node["writers"][0][:24] == prefix
