"""Python <-> Rust across processes: over shared memory on one host, and over TCP between two
"hosts" (two shared-memory prefixes, one `omni-mesh daemon` each, linked on loopback);
services both ways."""

from __future__ import annotations

import pathlib
import signal
import subprocess
import time

import omnimesh
from omnimesh.msg.omni_msgs import AssignTask, AssignTaskRequest, FleetTask
from omnimesh.msg.geometry_msgs import PoseStamped
from omnimesh.msg.std_msgs import String


def stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_rust_talker_to_python(prefix: str, binaries: pathlib.Path) -> None:
    with omnimesh.Node("py_listener", shm_prefix=prefix) as node:
        sub = node.subscription("/chatter", String)
        talker = subprocess.Popen(
            [binaries / "talker", "--count", "5", "--interval-ms", "50", "--shm-prefix", prefix],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            did = talker.stdout.readline().split()[1]  # "talker did:key:..."
            got = []
            while len(got) < 3:
                sample = sub.recv(timeout=10.0)
                assert sample is not None, f"only {got}"
                got.append(sample)
            assert all(s.sender == did for s in got)
            assert got[0].msg.data.startswith("hello ")
        finally:
            stop(talker)


def test_python_to_rust_listener(prefix: str, binaries: pathlib.Path) -> None:
    with omnimesh.Node("py_talker", shm_prefix=prefix) as node:
        listener = subprocess.Popen(
            [binaries / "listener", "--dev", "--count", "3", "--timeout-s", "15", "--shm-prefix", prefix],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            pub = node.publisher("/chatter", String)
            deadline = time.monotonic() + 15
            n = 0
            while listener.poll() is None and time.monotonic() < deadline:
                n += 1
                pub.publish(String(data=f"from python {n}"))
                time.sleep(0.1)
            out, _ = listener.communicate(timeout=5)
            assert listener.returncode == 0, out
            lines = [l for l in out.splitlines() if "from python" in l]
            assert len(lines) == 3
            assert all(l.startswith(f"[{node.did}]") for l in lines), out
        finally:
            stop(listener)


def test_python_calls_a_rust_service(prefix: str, binaries: pathlib.Path) -> None:
    robot = subprocess.Popen(
        [binaries / "robot_sim"],
        env={"OMNI_MESH_NODE_NAME": "robot_0", "OMNI_MESH_MODE": "development", "OMNI_MESH_SHM_PREFIX": prefix, "PATH": "/usr/bin:/bin"},
        stderr=subprocess.DEVNULL,
    )
    try:
        with omnimesh.Node("py_controller", shm_prefix=prefix) as node:
            client = node.client("/robot_0/assign_task", AssignTask)
            waypoint = PoseStamped()
            waypoint.pose.position.x = 2.0
            request = AssignTaskRequest(task=FleetTask(kind=FleetTask.KIND_GOTO, waypoints=[waypoint]), robot_id="robot_0")
            reply = None
            deadline = time.monotonic() + 15
            while reply is None and time.monotonic() < deadline:
                try:
                    reply = client.call(request, timeout=0.5)
                except omnimesh.CallTimeout:
                    continue  # the robot is still starting
            assert reply is not None and reply.accepted, reply
            assert client.last_sender is not None and client.last_sender.startswith("did:key:")
            refused = client.call(AssignTaskRequest(), timeout=2.0)
            assert not refused.accepted and refused.reason
    finally:
        stop(robot)


def test_rust_calls_a_python_service(prefix: str, binaries: pathlib.Path) -> None:
    with omnimesh.Node("py_robot", shm_prefix=prefix) as node:
        calls: list[str] = []

        @node.service("/py_robot/assign_task", AssignTask)
        def assign(request: AssignTaskRequest, client: str) -> object:
            calls.append(client)
            return AssignTask.Response(accepted=True, reason=f"ok {request.robot_id}")

        cli = subprocess.Popen(
            [binaries / "omni-mesh", "service", "call", "/py_robot/assign_task", "omni_msgs/srv/AssignTask",
             '{"robot_id": "r7"}', "--json", "--timeout-s", "10", "--shm-prefix", prefix],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 15
        while cli.poll() is None and time.monotonic() < deadline:
            node.spin_once(0.05)
        out, err = cli.communicate(timeout=5)
        assert cli.returncode == 0, err
        assert '"accepted":true' in out and "ok r7" in out
        assert len(calls) == 1 and calls[0].startswith("did:key:")


def new_key(binaries: pathlib.Path, path: pathlib.Path) -> str:
    out = subprocess.run([binaries / "omni-mesh", "keys", "new", "--out", path], check=True, capture_output=True, text=True)
    return out.stdout.strip()


def daemon(binaries: pathlib.Path, key: pathlib.Path, prefix: str, trust: list[str], seed: str | None) -> tuple[subprocess.Popen[str], str]:
    config = key.with_suffix(".toml")
    config.write_text('[security]\nmode = "lightweight"\n')
    args = [binaries / "omni-mesh", "daemon", "--key", key, "--config", config, "--shm-prefix", prefix,
            "--gossip", "127.0.0.1:0", "--listen", "127.0.0.1:0", "--scan-ms", "50"]
    for did in trust:
        args += ["--trust", did]
    if seed:
        args += ["--seed", seed]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env={"OMNI_MESH_LOG": "warn", "PATH": "/usr/bin:/bin"})
    line = proc.stdout.readline()
    gossip = line.split("discovery on ")[1].split(",")[0]
    return proc, gossip


def test_python_and_rust_across_hosts_over_tcp(tmp_path: pathlib.Path, binaries: pathlib.Path) -> None:
    host_a, host_b = f"pya{tmp_path.name[-6:]}_", f"pyb{tmp_path.name[-6:]}_"
    da_did = new_key(binaries, tmp_path / "a.key")
    db_did = new_key(binaries, tmp_path / "b.key")
    talker_did = new_key(binaries, tmp_path / "talker.key")
    py_did = new_key(binaries, tmp_path / "py.key")
    trust = [da_did, db_did, talker_did, py_did]
    procs: list[subprocess.Popen[str]] = []
    try:
        a, gossip = daemon(binaries, tmp_path / "a.key", host_a, trust, None)
        procs.append(a)
        b, _ = daemon(binaries, tmp_path / "b.key", host_b, trust, gossip)
        procs.append(b)
        with omnimesh.Node("py_b", shm_prefix=host_b, mode="lightweight", key_file=str(tmp_path / "py.key"), trust=[talker_did]) as node:
            # Best effort: a reliable subscription that stops reading would make this host's
            # daemon wait (up to its stall deadline) on every frame for it.
            sub = node.subscription("/chatter", String)
            talker = subprocess.Popen(
                [binaries / "talker", "--key", tmp_path / "talker.key", "--interval-ms", "100", "--start-delay-ms", "1000", "--shm-prefix", host_a],
                stdout=subprocess.DEVNULL,
            )
            procs.append(talker)
            sample = sub.recv(timeout=20.0)
            assert sample is not None, "nothing crossed the TCP link"
            assert sample.sender == talker_did and sample.msg.data.startswith("hello ")
            stop(talker)
            # And back: Python on host B to a Rust listener on host A.
            listener = subprocess.Popen(
                [binaries / "listener", "--trust", py_did, "--topic", "/from_python", "--count", "2", "--timeout-s", "20", "--shm-prefix", host_a],
                stdout=subprocess.PIPE,
                text=True,
            )
            procs.append(listener)
            pub = node.publisher("/from_python", String)
            deadline = time.monotonic() + 20
            while listener.poll() is None and time.monotonic() < deadline:
                pub.publish(String(data="over tcp"))
                time.sleep(0.1)
            out, _ = listener.communicate(timeout=5)
            assert listener.returncode == 0 and out.count(f"[{py_did}]") == 2, out
    finally:
        for p in reversed(procs):
            stop(p)
        for tag in (host_a, host_b):
            for f in pathlib.Path("/dev/shm").glob(f"{tag}*"):
                f.unlink(missing_ok=True)
