"""Process behaviour: Ctrl-C interrupts a blocked receive promptly, and interpreters exit
cleanly with live nodes and ports (repeated 50 times)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

BLOCKED = """
import sys, omnimesh
from omnimesh.msg.std_msgs import String
node = omnimesh.Node("blocked", shm_prefix=sys.argv[1])
sub = node.subscription("/never", String)
print("waiting", flush=True)
try:
    sub.recv()
except KeyboardInterrupt:
    print("interrupted", flush=True)
    raise
"""

LEFT_OPEN = """
import sys, omnimesh
from omnimesh.msg.std_msgs import String
node = omnimesh.Node("exiting", shm_prefix=sys.argv[1])
pub = node.publisher("/t", String)
sub = node.subscription("/t", String)
pub.publish(String(data="x"))
assert sub.recv(timeout=2.0).msg.data == "x"
# no close(): the interpreter tears the node down at exit
"""


def test_ctrl_c_interrupts_a_blocked_recv(prefix: str) -> None:
    proc = subprocess.Popen([sys.executable, "-c", BLOCKED, prefix], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "waiting"
    time.sleep(0.3)
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=10)
    took = time.monotonic() - sent
    assert "interrupted" in out, err
    assert "KeyboardInterrupt" in err
    assert proc.returncode != 0
    # 50 ms signal polling; the rest is interpreter shutdown.
    assert took < 1.0, f"exit took {took:.3f} s after SIGINT"


def test_exit_without_crash_50_times(prefix: str) -> None:
    for i in range(50):
        proc = subprocess.run([sys.executable, "-c", LEFT_OPEN, prefix], capture_output=True, text=True, timeout=30)
        assert proc.returncode == 0, f"run {i}: {proc.returncode}\n{proc.stderr}"
