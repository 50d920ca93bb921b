"""The base of generated message classes and their conversion to and from plain values."""

from __future__ import annotations

import dataclasses
import importlib
from typing import Any, ClassVar, TypeVar

M = TypeVar("M", bound="Message")

_REGISTRY: dict[str, type[Message]] = {}


def message_class(type_name: str) -> type[Message]:
    """The class of ``pkg/msg/Type`` (its package module is imported on first use)."""
    cls = _REGISTRY.get(type_name)
    if cls is None:
        package = type_name.split("/", 1)[0]
        importlib.import_module(f"omnimesh.msg.{package}")
        cls = _REGISTRY.get(type_name)
    if cls is None:
        raise LookupError(f"no message class for {type_name}")
    return cls


def _plain(value: Any) -> Any:
    if isinstance(value, Message):
        return value.to_plain()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, memoryview):
        return value.tobytes() if value.format == "B" else value.tolist()
    return value


def _comparable(value: Any) -> Any:
    """Arrays as lists (received ones are memoryviews, built ones lists or bytes)."""
    if isinstance(value, memoryview):
        return value.tolist()
    if isinstance(value, (bytes, bytearray)):
        return list(value)
    if isinstance(value, tuple):
        return list(value)
    return value


class Message:
    """A generated message: a slotted dataclass with ``TYPE_NAME``, ``TYPE_HASH`` and
    ``FIELDS`` (ROS name, attribute, nested type name or None, is a sequence).

    In a received message, arrays of primitives (``uint8[]`` images, ``float32[]`` scans)
    are read-only memoryviews over the received bytes: no copy is made, and
    ``numpy.asarray(msg.data)`` shares the memory too. They stay valid as long as the
    message (or any view of it) lives."""

    __slots__ = ()
    TYPE_NAME: ClassVar[str] = ""
    TYPE_HASH: ClassVar[str] = ""
    FIELDS: ClassVar[tuple[tuple[str, str, str | None, bool], ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "TYPE_NAME" in cls.__dict__:
            # dataclass(slots=True) makes a second class; the last one registered wins.
            _REGISTRY[cls.TYPE_NAME] = cls

    def __eq__(self, other: object) -> bool:
        """Field by field; arrays compare by value whether they are lists, bytes or
        memoryviews over a received message."""
        if type(other) is not type(self):
            return NotImplemented
        return all(
            _comparable(getattr(self, attr)) == _comparable(getattr(other, attr))
            for _, attr, _, _ in self.FIELDS
        )

    __hash__ = None  # type: ignore[assignment]

    def to_plain(self) -> dict[str, Any]:
        """The fields as plain values (dicts, lists, bytes, numbers, strings)."""
        return {ros: _plain(getattr(self, attr)) for ros, attr, _, _ in self.FIELDS}

    @classmethod
    def from_plain(cls: type[M], values: dict[str, Any]) -> M:
        """An instance from plain values (as the native codec decodes them)."""
        kwargs: dict[str, Any] = {}
        for ros, attr, nested, seq in cls.FIELDS:
            if ros not in values:
                continue
            value = values[ros]
            if nested is not None:
                sub = message_class(nested)
                value = [sub.from_plain(v) for v in value] if seq else sub.from_plain(value)
            kwargs[attr] = value
        return cls(**kwargs)

    def replace(self: M, **changes: Any) -> M:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]


class Service:
    """A generated service type: ``TYPE_NAME``, ``Request`` and ``Response`` classes."""

    TYPE_NAME: ClassVar[str] = ""
    Request: ClassVar[type[Message]]
    Response: ClassVar[type[Message]]
