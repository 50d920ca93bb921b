"""What the bridge interop tests share: the sample messages of the six tested types, and
bridge configuration files for topics and services."""

from __future__ import annotations

import json
import pathlib
from typing import Any

import omnimesh

MIB = 1 << 20

CLOUD_FIELDS = [{"name": n, "offset": 4 * i, "datatype": 7, "count": 1} for i, n in enumerate("xyzi")]

SAMPLES: dict[str, dict[str, Any]] = {
    "std_msgs/msg/String": {"data": "hello across the bridge"},
    "geometry_msgs/msg/Twist": {"linear": {"x": 0.5, "y": -1.0, "z": 0.0}, "angular": {"x": 0.0, "y": 0.0, "z": 0.25}},
    "geometry_msgs/msg/PoseStamped": {
        "header": {"stamp": {"sec": 12, "nanosec": 345}, "frame_id": "map"},
        "pose": {"position": {"x": 1.0, "y": 2.0, "z": 0.0}, "orientation": {"x": 0.0, "y": 0.0, "z": 0.6, "w": 0.8}},
    },
    "sensor_msgs/msg/Imu": {
        "header": {"stamp": {"sec": 1, "nanosec": 2}, "frame_id": "imu"},
        "orientation_covariance": [0.125 * i for i in range(9)],
        "linear_acceleration": {"x": 0.0, "y": 0.0, "z": 9.81},
    },
    "sensor_msgs/msg/JointState": {
        "name": ["shoulder", "elbow", "wrist"],
        "position": [0.1, -0.2, 0.3],
        "velocity": [0.0, 0.5, 0.0],
        "effort": [],
    },
    "sensor_msgs/msg/PointCloud2": {
        "header": {"stamp": {"sec": 5, "nanosec": 0}, "frame_id": "lidar"},
        "height": 1,
        "width": MIB // 16,
        "fields": CLOUD_FIELDS,
        "point_step": 16,
        "row_step": MIB,
        "data": bytes(i % 253 for i in range(MIB)),
        "is_dense": True,
    },
}


def slug(type_name: str) -> str:
    return type_name.split("/")[-1].lower()


def write_config(path: pathlib.Path, maps: list[dict[str, Any]]) -> pathlib.Path:
    lines = ["[mesh]", 'node = "ros2_bridge"', ""]
    for m in maps:
        lines.append("[[topic]]")
        lines += [f"{k} = {json.dumps(v)}" for k, v in m.items()]
        lines.append("max_bytes = 2200000")
        lines.append("")
    path.write_text("\n".join(lines))
    return path


def for_peer(values: dict[str, Any]) -> dict[str, Any]:
    """JSON for the Cyclone peer (bytes as hex)."""
    return {k: ({"hex": v.hex()} if isinstance(v, bytes) else v) for k, v in values.items()}


def qos() -> omnimesh.QoS:
    return omnimesh.QoS(reliable=True, depth=10, max_bytes=2_200_000)


CALLS = [[2, 3], [-7, 100], [1 << 40, 5]]


def service_config(path: pathlib.Path, server: str, rmw: str = "cyclonedds") -> pathlib.Path:
    """AddTwoInts on `/add_two_ints`, served by `server` ("ros": a ROS 2 server on `rmw`)."""
    rmw_line = f'rmw = "{rmw}"\n' if server == "ros" else ""
    path.write_text(
        '[mesh]\nnode = "ros2_bridge"\n\n[[service]]\nmesh = "/add_two_ints"\n'
        f'type = "example_interfaces/srv/AddTwoInts"\nserver = "{server}"\n{rmw_line}'
    )
    return path
