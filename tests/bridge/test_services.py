"""Services through the ROS 2 bridge, both ways, against Eclipse Cyclone DDS speaking
`rmw_cyclonedds`'s service protocol (a request header in every sample): a mesh client calls
a ROS 2 server, and a ROS 2 client calls a mesh server."""

from __future__ import annotations

import json
import pathlib
import time
from typing import Any

import omnimesh
from omnimesh.msg.example_interfaces import AddTwoInts

from cases import CALLS, service_config

def test_mesh_client_calls_a_ros_server(
    tmp_path: pathlib.Path, prefix: str, cyclone: Any, start_bridge: Any
) -> None:
    brg, did = start_bridge(service_config(tmp_path / "bridge.toml", "ros"))
    server = cyclone("server", "/add_two_ints", "example_interfaces/srv/AddTwoInts", str(len(CALLS)))
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
    tmp_path: pathlib.Path, prefix: str, cyclone: Any, start_bridge: Any
) -> None:
    brg, did = start_bridge(service_config(tmp_path / "bridge.toml", "mesh"))
    callers: list[str] = []

    def add(request: Any, sender: str) -> Any:
        callers.append(sender)
        return AddTwoInts.Response(sum=request.a + request.b)

    calls = tmp_path / "calls.json"
    calls.write_text(json.dumps(CALLS))
    try:
        with omnimesh.Node("mesh_server", shm_prefix=prefix) as node:
            server = node.service("/add_two_ints", AddTwoInts, add)
            client = cyclone("client", "/add_two_ints", "example_interfaces/srv/AddTwoInts", str(calls))
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
