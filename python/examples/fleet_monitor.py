"""A Python node that joins the warehouse demo: it watches the fleet's heartbeats and task
reports and prints a summary every two seconds.

    ./target/debug/omni-mesh launch launch/warehouse.launch.toml    # terminal 1
    python python/examples/fleet_monitor.py                         # terminal 2
"""

from __future__ import annotations

import argparse
import time

import omnimesh
from omnimesh.msg.omni_msgs import Heartbeat, TaskStatus


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=None, help="seconds to run (default: until Ctrl-C)")
    parser.add_argument("--period", type=float, default=2.0, help="seconds between summaries")
    args = parser.parse_args()

    with omnimesh.Node("py_fleet_monitor") as node:
        last_beat: dict[str, tuple[float, str]] = {}
        done = 0

        @node.subscription("/fleet/heartbeat", Heartbeat)
        def on_beat(sample: omnimesh.Sample[Heartbeat]) -> None:
            last_beat[sample.msg.node_name] = (time.monotonic(), sample.sender)

        @node.subscription("/fleet/task_status", TaskStatus)
        def on_status(sample: omnimesh.Sample[TaskStatus]) -> None:
            nonlocal done
            if sample.msg.state == TaskStatus.STATE_SUCCEEDED:
                done += 1

        @node.timer(args.period)
        def summary() -> None:
            now = time.monotonic()
            alive = sorted(n for n, (t, _) in last_beat.items() if now - t < 3.0)
            print(f"python monitor: {len(alive)} robots alive ({', '.join(alive)}); {done} tasks completed", flush=True)

        try:
            node.spin(args.duration)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
