"""The Python node API: ``Node`` with publishers, subscriptions, timers, services, clients
and ``spin``. Messages are the generated classes in ``omnimesh.msg``; every received message
carries its sender's verified DID."""

from __future__ import annotations

import dataclasses
import os
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from omnimesh import _native
from omnimesh._message import Message, Service

M = TypeVar("M", bound=Message)


@dataclasses.dataclass(frozen=True, slots=True)
class QoS:
    """Quality of service of a topic. ``reliable``: publishers wait for slow subscribers
    (lossless) instead of overwriting their oldest message; ``depth``: messages queued."""

    reliable: bool = False
    depth: int = 8
    max_bytes: int = 65536


@dataclasses.dataclass(frozen=True, slots=True)
class Sample(Generic[M]):
    """A received message with its verified sender. ``archive`` holds the received bytes
    (read-only buffer protocol: ``memoryview(sample.archive)``); the message's array views
    point into it. ``Publisher.publish_archive`` forwards it without decoding."""

    msg: M
    sender: str
    sequence: int
    timestamp_ns: int
    archive: _native.ArchiveBuffer


class Publisher(Generic[M]):
    """Publishes ``msg_type`` on one topic (signed with the node's key)."""

    def __init__(self, native: Any, msg_type: type[M]) -> None:
        self._native = native
        self.msg_type = msg_type

    @property
    def topic(self) -> str:
        return str(self._native.topic)

    def publish(self, msg: M) -> None:
        if not isinstance(msg, self.msg_type):
            raise TypeError(f"{self.topic} carries {self.msg_type.TYPE_NAME}, not {type(msg).__name__}")
        self._native.publish(msg)

    def publish_archive(self, archive: bytes | _native.ArchiveBuffer) -> None:
        """Publishes an archive as it is: a received ``Sample.archive`` (forwarding without
        decoding) or ``omnimesh.encode`` output."""
        self._native.publish_archive(archive)


class Subscription(Generic[M]):
    """Receives ``msg_type`` on one topic: ``recv(timeout)``, iteration, or a callback run
    by ``Node.spin`` (use the subscription as a decorator)."""

    def __init__(self, native: Any, msg_type: type[M]) -> None:
        self._native = native
        self.msg_type = msg_type
        self.callback: Callable[[Sample[M]], Any] | None = None

    @property
    def topic(self) -> str:
        return str(self._native.topic)

    def __call__(self, callback: Callable[[Sample[M]], Any]) -> Callable[[Sample[M]], Any]:
        self.callback = callback
        return callback

    def recv(self, timeout: float | None = None) -> Sample[M] | None:
        """The next message, or None after ``timeout`` seconds (None: wait for ever).
        Ctrl-C raises KeyboardInterrupt while waiting."""
        got = self._native.recv(timeout)
        if got is None:
            return None
        return Sample(*got)

    def __iter__(self) -> Iterator[Sample[M]]:
        while True:
            sample = self.recv(None)
            if sample is not None:
                yield sample

    @property
    def dropped(self) -> tuple[int, int]:
        """(frames refused by the security checks, messages of another type skipped)."""
        return tuple(self._native.dropped)


class Client:
    """Calls one service; ``call`` returns the response and sets ``last_sender``."""

    def __init__(self, native: Any, srv: type[Service]) -> None:
        self._native = native
        self.srv = srv
        self.last_sender: str | None = None

    def call(self, request: Message, timeout: float = 1.0) -> Message:
        response, sender = self._native.call(request, timeout)
        self.last_sender = sender
        return response  # type: ignore[no-any-return]


class Timer:
    """Calls ``callback`` every ``period`` seconds while the node spins."""

    def __init__(self, period: float, callback: Callable[[], Any] | None) -> None:
        self.period = max(period, 1e-4)
        self.callback = callback
        self.next = time.monotonic() + self.period

    def __call__(self, callback: Callable[[], Any]) -> Callable[[], Any]:
        self.callback = callback
        return callback


class ServiceServer:
    """Serves one service with ``handler(request, client_did) -> response``."""

    def __init__(self, native: Any, srv: type[Service], handler: Callable[..., Message] | None):
        self._native = native
        self.srv = srv
        self.handler = handler

    def __call__(self, handler: Callable[..., Message]) -> Callable[..., Message]:
        self.handler = handler
        return handler

    def serve_once(self, timeout: float | None = 0.0) -> bool:
        got = self._native.take(timeout)
        if got is None:
            return False
        request, sender, token = got
        if self.handler is None:
            return False
        response = self.handler(request, sender)
        self._native.reply(token, response)
        return True


def _report(what: str) -> None:
    print(f"omnimesh: exception in {what} (the node keeps running):", file=sys.stderr)
    traceback.print_exc()


class Node:
    """A node on this host's shared memory. Use it as a context manager so its ports are
    closed on exit::

        with omnimesh.Node("talker") as node:
            pub = node.publisher("/chatter", String)
            pub.publish(String(data="hi"))
    """

    def __init__(
        self,
        name: str,
        namespace: str = "/",
        *,
        shm_prefix: str | None = None,
        mode: str | None = None,
        key_file: str | None = None,
        trust: tuple[str, ...] | list[str] = (),
        config_file: str | None = None,
    ) -> None:
        self._native: Any = _native.Node(
            name,
            namespace,
            shm_prefix=shm_prefix or os.environ.get("OMNI_MESH_SHM_PREFIX"),
            mode=mode,
            key_file=key_file,
            trust=list(trust),
            config_file=config_file,
        )
        self._subscriptions: list[Subscription[Any]] = []
        self._timers: list[Timer] = []
        self._servers: list[ServiceServer] = []
        self._closed = False

    def __enter__(self) -> Node:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Closes every port and the node (also done at exit)."""
        self._subscriptions.clear()
        self._timers.clear()
        self._servers.clear()
        self._native = None
        self._closed = True

    def _node(self) -> Any:
        if self._closed:
            raise _native.Error("the node is closed")
        return self._native

    @property
    def did(self) -> str:
        return str(self._node().did)

    @property
    def name(self) -> str:
        return str(self._node().name)

    def publisher(self, topic: str, msg_type: type[M], qos: QoS = QoS()) -> Publisher[M]:
        native = self._node().publisher(topic, msg_type.TYPE_NAME, qos.reliable, qos.depth, qos.max_bytes)
        return Publisher(native, msg_type)

    def subscription(
        self,
        topic: str,
        msg_type: type[M],
        callback: Callable[[Sample[M]], Any] | None = None,
        qos: QoS = QoS(),
        *,
        zero_copy: bool = False,
    ) -> Subscription[M]:
        """Subscribes to ``topic``. Arrays in received messages are views over the received
        bytes either way; ``zero_copy=True`` also skips the one private copy, so they are the
        publisher's shared memory itself: only where every process on the host is trusted
        (a publisher could still write into it), and each message held keeps a slot of the
        topic's shared memory (hold a few at most)."""
        native = self._node().subscription(
            topic, msg_type.TYPE_NAME, qos.reliable, qos.depth, qos.max_bytes, zero_copy
        )
        sub = Subscription(native, msg_type)
        sub.callback = callback
        self._subscriptions.append(sub)
        return sub

    def timer(self, period: float, callback: Callable[[], Any] | None = None) -> Timer:
        timer = Timer(period, callback)
        self._timers.append(timer)
        return timer

    def service(
        self, name: str, srv: type[Service], handler: Callable[..., Message] | None = None
    ) -> ServiceServer:
        server = ServiceServer(self._node().service(name, srv.TYPE_NAME), srv, handler)
        self._servers.append(server)
        return server

    def client(self, name: str, srv: type[Service]) -> Client:
        return Client(self._node().client(name, srv.TYPE_NAME), srv)

    def spin_once(self, timeout: float = 0.05) -> int:
        """Runs due timers, then every waiting message and request through its callback;
        waits up to ``timeout`` seconds when nothing was ready. Returns callbacks run."""
        ran = 0
        now = time.monotonic()
        for t in self._timers:
            if now >= t.next and t.callback is not None:
                t.next = now + t.period if now >= t.next + t.period else t.next + t.period
                ran += 1
                try:
                    t.callback()
                except Exception:
                    _report("a timer callback")
        for sub in self._subscriptions:
            if sub.callback is None:
                continue
            while (sample := sub.recv(0.0)) is not None:
                ran += 1
                try:
                    sub.callback(sample)
                except Exception:
                    _report(f"the callback of {sub.topic}")
        for server in self._servers:
            while True:
                try:
                    if not server.serve_once(0.0):
                        break
                except (_native.Error, KeyboardInterrupt):
                    raise
                except Exception:
                    _report(f"the handler of {server.srv.TYPE_NAME}")
                    break
                ran += 1
        if ran == 0:
            until = min((t.next for t in self._timers), default=now + timeout)
            wait = max(0.0, min(until - time.monotonic(), timeout))
            ports = [s._native for s in self._subscriptions if s.callback is not None]
            ports += [server._native for server in self._servers]
            if ports:
                # One shared-memory WaitSet over every port: wakes at the first message.
                _native.wait_any(ports, wait)
            else:
                time.sleep(wait)
        return ran

    def spin(self, duration: float | None = None) -> None:
        """Spins until ``duration`` seconds passed (None: until Ctrl-C, which raises
        KeyboardInterrupt)."""
        end = None if duration is None else time.monotonic() + duration
        while end is None or time.monotonic() < end:
            left = 0.05 if end is None else max(0.0, min(0.05, end - time.monotonic()))
            self.spin_once(left)
