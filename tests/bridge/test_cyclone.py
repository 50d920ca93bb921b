"""The ROS 2 bridge's behaviour between its two sides, against Eclipse Cyclone DDS (the real
libddsc, from the PyPI `cyclonedds` wheel) in a private network namespace: no loops when a
topic is bridged both ways or by two bridges, and the bridge's entry in the ROS 2 graph.
(Types, late joiners and services against both DDS implementations: test_interop.py.)"""

from __future__ import annotations

import json
import pathlib
import time
from typing import Any

import omnimesh

from cases import qos, write_config


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
