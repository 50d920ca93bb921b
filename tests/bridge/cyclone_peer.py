"""A ROS 2-style peer on Eclipse Cyclone DDS (the PyPI `cyclonedds` wheel, which bundles
libddsc), for the bridge's interop tests. Run inside the test's network namespace:

    cyclone_peer.py pub TOPIC TYPE SAMPLES.json [--transient-local] [--wait-match N]
    cyclone_peer.py sub TOPIC TYPE COUNT [--transient-local] [--timeout S]
    cyclone_peer.py graph - - - [--timeout S]
    cyclone_peer.py server SERVICE example_interfaces/srv/AddTwoInts COUNT [--timeout S]
    cyclone_peer.py client SERVICE example_interfaces/srv/AddTwoInts CALLS.json [--timeout S]

`pub` writes each JSON sample (plain field values) once its writer matched `--wait-match`
readers, then lingers so reliable delivery completes; `sub` prints one JSON line per sample
received: the fields, and the CDR bytes as Cyclone serializes them (hex) for byte checks.
`server` answers COUNT AddTwoInts requests and `client` makes each call in CALLS.json
(`[[a, b], ...]`) and prints the sums, both as `rmw_cyclonedds` does on the wire."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from typing import Any

from cyclonedds.core import Qos, Policy
from cyclonedds.domain import DomainParticipant
from cyclonedds.pub import DataWriter
from cyclonedds.sub import DataReader
from cyclonedds.internal import InvalidSample
from cyclonedds.topic import Topic
from cyclonedds.util import duration

from ros_types import TYPES


def qos(transient_local: bool, depth: int) -> Qos:
    policies = [Policy.Reliability.Reliable(duration(seconds=1)), Policy.History.KeepLast(depth)]
    if transient_local:
        policies += [
            Policy.Durability.TransientLocal,
            Policy.DurabilityService(
                cleanup_delay=0,
                history=Policy.History.KeepLast(depth),
                max_samples=-1,
                max_instances=-1,
                max_samples_per_instance=-1,
            ),
        ]
    else:
        policies.append(Policy.Durability.Volatile)
    return Qos(*policies)


def build(cls: Any, value: Any) -> Any:
    """A typed instance from plain JSON values."""
    if not dataclasses.is_dataclass(cls):
        return value
    kwargs = {}
    hints = cls.__annotations__
    for f in dataclasses.fields(cls):
        if f.name not in value:
            continue
        v = value[f.name]
        ty = hints[f.name]
        if isinstance(ty, type) and dataclasses.is_dataclass(ty):
            v = build(ty, v)
        elif f.name == "fields":  # PointCloud2.fields: sequence[PointField]
            v = [build(TYPES_BY_NAME["PointField"], x) for x in v]
        elif f.name == "data" and isinstance(v, dict) and "hex" in v:
            v = bytes.fromhex(v["hex"])
        kwargs[f.name] = v
    return cls(**kwargs)


def plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (bytes, bytearray)):
        return {"hex": bytes(value).hex()}
    if isinstance(value, list):
        if value and all(isinstance(x, int) and 0 <= x < 256 for x in value) and len(value) > 64:
            return {"hex": bytes(value).hex()}
        return [plain(v) for v in value]
    return value


import ros_types  # noqa: E402

TYPES_BY_NAME = {
    name: obj for name, obj in vars(ros_types).items() if isinstance(obj, type) and dataclasses.is_dataclass(obj)
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["pub", "sub", "graph", "server", "client"])
    parser.add_argument("topic")
    parser.add_argument("type")
    parser.add_argument("arg")
    parser.add_argument("--transient-local", action="store_true")
    parser.add_argument("--depth", type=int, default=10)
    parser.add_argument("--wait-match", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--linger", type=float, default=2.0)
    args = parser.parse_args()
    if args.mode == "graph":
        graph(args.timeout)
        return
    if args.mode in ("server", "client"):
        service(args.mode, args.topic, args.arg, args.timeout)
        return
    cls = TYPES[args.type]
    dp = DomainParticipant(0)
    topic = Topic(dp, "rt" + args.topic, cls)
    q = qos(args.transient_local, args.depth)
    deadline = time.monotonic() + args.timeout
    if args.mode == "pub":
        samples = [build(cls, s) for s in json.loads(open(args.arg).read())]
        writer = DataWriter(dp, topic, qos=q)
        while writer.get_matched_subscriptions().__len__() < args.wait_match:
            if time.monotonic() > deadline:
                sys.exit("no reader matched")
            time.sleep(0.05)
        # Discovery is two-sided: give the readers time to discover this writer too.
        time.sleep(0.5)
        print("matched", flush=True)
        for s in samples:
            writer.write(s)
            print(json.dumps({"cdr": s.serialize().hex()}), flush=True)
        print("published", len(samples), flush=True)
        time.sleep(args.linger)
        return
    reader = DataReader(dp, topic, qos=q)
    print("ready", flush=True)
    got = 0
    while got < int(args.arg) and time.monotonic() < deadline:
        for sample in reader.take(10):
            if isinstance(sample, InvalidSample):
                continue  # a state change (a writer went away), not data
            got += 1
            print(json.dumps({"msg": plain(sample), "cdr": sample.serialize().hex()}), flush=True)
        time.sleep(0.01)
    if got < int(args.arg):
        sys.exit(f"only {got} of {args.arg} samples")


def wait_matched(deadline: float, writer: DataWriter, reader: DataReader) -> None:
    """As a ROS 2 client's `wait_for_service` (and a server's first reply): both endpoints
    matched, and a moment for the far side to discover them in turn."""
    while len(writer.get_matched_subscriptions()) < 1 or len(reader.get_matched_publications()) < 1:
        if time.monotonic() > deadline:
            sys.exit("the other side of the service never matched")
        time.sleep(0.05)
    time.sleep(0.5)


def service(mode: str, name: str, arg: str, timeout: float) -> None:
    """AddTwoInts over DDS the way rmw_cyclonedds does it."""
    from ros_types import AddTwoIntsRequest, AddTwoIntsResponse

    dp = DomainParticipant(0)
    q = qos(False, 10)
    requests = Topic(dp, f"rq{name}Request", AddTwoIntsRequest)
    replies = Topic(dp, f"rr{name}Reply", AddTwoIntsResponse)
    deadline = time.monotonic() + timeout
    if mode == "server":
        req_reader = DataReader(dp, requests, qos=q)
        rep_writer = DataWriter(dp, replies, qos=q)
        print("ready", flush=True)
        served = 0
        while served < int(arg) and time.monotonic() < deadline:
            for r in req_reader.take(10):
                if isinstance(r, InvalidSample):
                    continue
                rep_writer.write(AddTwoIntsResponse(client_guid=r.client_guid, seq=r.seq, sum=r.a + r.b))
                served += 1
                print(json.dumps({"a": r.a, "b": r.b}), flush=True)
            time.sleep(0.005)
        if served < int(arg):
            sys.exit(f"served only {served} of {arg} requests")
        time.sleep(1.0)  # reliable delivery of the last replies
        return
    rep_reader = DataReader(dp, replies, qos=q)
    req_writer = DataWriter(dp, requests, qos=q)
    wait_matched(deadline, req_writer, rep_reader)
    me = 0x5EED_0000_0000_0001
    for seq, (a, b) in enumerate(json.loads(open(arg).read()), start=1):
        req_writer.write(AddTwoIntsRequest(client_guid=me, seq=seq, a=a, b=b))
        answer = None
        while answer is None and time.monotonic() < deadline:
            for r in rep_reader.take(10):
                if not isinstance(r, InvalidSample) and r.client_guid == me and r.seq == seq:
                    answer = r.sum
            time.sleep(0.005)
        if answer is None:
            sys.exit(f"no reply to call {seq}")
        print(json.dumps({"a": a, "b": b, "sum": answer}), flush=True)


def graph(timeout: float) -> None:
    """Prints the first ROS 2 graph entry (`ros_discovery_info`) that names a node."""
    from ros_types import ParticipantEntitiesInfo

    dp = DomainParticipant(0)
    topic = Topic(dp, "ros_discovery_info", ParticipantEntitiesInfo)
    reader = DataReader(dp, topic, qos=qos(True, 1))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for info in reader.take(10):
            if isinstance(info, InvalidSample) or not info.node_entities_info_seq:
                continue
            gid = bytes(info.gid.data).hex()
            nodes = [
                {
                    "namespace": n.node_namespace,
                    "name": n.node_name,
                    "readers": [bytes(g.data).hex() for g in n.reader_gid_seq],
                    "writers": [bytes(g.data).hex() for g in n.writer_gid_seq],
                }
                for n in info.node_entities_info_seq
            ]
            print(json.dumps({"gid": gid, "nodes": nodes}), flush=True)
            return
        time.sleep(0.05)
    sys.exit("no graph entry")


if __name__ == "__main__":
    main()
