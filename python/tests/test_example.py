"""The example Python monitor joins a running fleet (a Rust robot) and reports it."""

from __future__ import annotations

import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_python_monitor_sees_rust_robots(prefix: str, binaries: pathlib.Path) -> None:
    env = {"OMNI_MESH_MODE": "development", "OMNI_MESH_SHM_PREFIX": prefix, "PATH": "/usr/bin:/bin"}
    robots = [
        subprocess.Popen([binaries / "robot_sim"], env={**env, "OMNI_MESH_NODE_NAME": f"robot_{i}"}, stderr=subprocess.DEVNULL)
        for i in range(2)
    ]
    try:
        out = subprocess.run(
            [sys.executable, ROOT / "python" / "examples" / "fleet_monitor.py", "--duration", "4", "--period", "1"],
            env={**env},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert out.returncode == 0, out.stderr
        assert "2 robots alive (/robot_0, /robot_1)" in out.stdout, out.stdout
    finally:
        for r in robots:
            r.terminate()
            r.wait(timeout=10)
