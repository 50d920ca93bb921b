"""The generated classes: one module per package, current with the interface files, and the
native stubs match the module (mypy's stubtest)."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import omnimesh
from omnimesh.msg import geometry_msgs, omni_msgs, std_msgs

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_classes_are_current(tmp_path: pathlib.Path) -> None:
    subprocess.run(
        ["cargo", "run", "-q", "-p", "mesh-codegen", "--", "python", "msg", "--out", tmp_path],
        cwd=ROOT,
        check=True,
    )
    shipped = ROOT / "python" / "omnimesh" / "msg"
    for generated in sorted(tmp_path.glob("*.py")):
        assert (shipped / generated.name).read_text() == generated.read_text(), (
            f"python/omnimesh/msg/{generated.name} is stale: "
            "cargo run -p mesh-codegen -- python msg --out python/omnimesh/msg"
        )


def test_classes_carry_ros_names_hashes_and_constants() -> None:
    assert std_msgs.String.TYPE_NAME == "std_msgs/msg/String"
    assert geometry_msgs.Twist.TYPE_HASH == omnimesh.type_hash("geometry_msgs/msg/Twist")
    assert omni_msgs.RobotState.MODE_AUTONOMOUS == 2
    assert omni_msgs.FleetTask().priority == 100
    assert omni_msgs.AssignTask.Request is omni_msgs.AssignTaskRequest
    state = omni_msgs.RobotState(robot_id="amr-7")
    assert omnimesh.message_class("omni_msgs/msg/RobotState") is omni_msgs.RobotState
    assert omni_msgs.RobotState.from_plain(state.to_plain()) == state
    assert not hasattr(state, "__dict__"), "slotted dataclasses"


def test_native_stubs_match() -> None:
    # mypy is part of the test environment (scripts/test installs it): no skip.
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy.stubtest",
            "omnimesh._native",
            "--allowlist",
            str(pathlib.Path(__file__).with_name("stubtest-allowlist.txt")),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_package_and_example_type_check() -> None:
    # The annotations users see (generated classes, Sample, the stubs) hold together.
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", "/dev/null", "omnimesh", "examples"],
        cwd=ROOT / "python",
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
