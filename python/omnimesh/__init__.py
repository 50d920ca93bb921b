"""OMNI-MESH nodes in Python: typed topics and services over shared memory (and, through the
host daemon, between hosts), with signed messages and the sender's verified DID on every one.

    import omnimesh
    from omnimesh.msg.std_msgs import String

    with omnimesh.Node("talker") as node:
        node.publisher("/chatter", String).publish(String(data="hello"))
"""

from omnimesh._message import Message, Service, message_class
from omnimesh._native import (
    CallTimeout,
    ConfigError,
    Error,
    MessageError,
    TransportError,
    decode,
    encode,
    from_cdr,
    to_cdr,
    type_hash,
)
from omnimesh._node import (
    Client,
    Node,
    Publisher,
    QoS,
    Sample,
    ServiceServer,
    Subscription,
    Timer,
)

__all__ = [
    "CallTimeout",
    "Client",
    "ConfigError",
    "Error",
    "Message",
    "MessageError",
    "Node",
    "Publisher",
    "QoS",
    "Sample",
    "Service",
    "ServiceServer",
    "Subscription",
    "Timer",
    "TransportError",
    "decode",
    "encode",
    "from_cdr",
    "to_cdr",
    "message_class",
    "type_hash",
]
