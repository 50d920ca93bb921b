//! TCP links over loopback: mutual identity, frames in order both ways (64 B to 1 MiB),
//! untrusted peers refused, hostile lengths refused before allocation, back-pressure, and
//! reconnecting with back-off after the listener comes back.
#![cfg(feature = "net")]

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use mesh_core::identity::NodeKey;
use mesh_core::net::compress::{Codec, CompressionConfig};
use mesh_core::net::frame::{prefix, FrameDecoder};
use mesh_core::net::handshake::{fresh_nonce, Handshake, HandshakeError, Role};
use mesh_core::net::tcp::{connect, Backoff, LinkConfig, LinkError, LinkListener, Redial};
use mesh_core::security::SecurityPolicy;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn policy(trusted: &[&NodeKey]) -> Arc<SecurityPolicy> {
    common::lightweight_policy(trusted)
}

use common::loopback;

fn keys() -> (Arc<NodeKey>, Arc<NodeKey>) {
    (
        Arc::new(NodeKey::from_seed(&[61; 32])),
        Arc::new(NodeKey::from_seed(&[62; 32])),
    )
}

/// Frames of varied sizes, each starting with its index.
fn frame(i: u32) -> Bytes {
    let len = match i % 4 {
        0 => 64,
        1 => 4096,
        2 => 100,
        _ => 70_000,
    };
    let mut f = vec![(i % 251) as u8; len];
    f[..4].copy_from_slice(&i.to_le_bytes());
    Bytes::from(f)
}

#[tokio::test]
async fn frames_flow_in_order_both_ways_between_authenticated_peers() {
    let (a, b) = keys();
    let listener = LinkListener::bind(
        loopback(),
        Arc::clone(&b),
        policy(&[&a]),
        LinkConfig::default(),
    )
    .await
    .unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { listener.accept().await.unwrap() });
    let mut client = connect(addr, &a, &policy(&[&b]), &LinkConfig::default())
        .await
        .unwrap();
    let mut server = server.await.unwrap();
    assert_eq!(client.peer(), b.public());
    assert_eq!(server.peer(), a.public());

    let sender = client.sender();
    let pump = tokio::spawn(async move {
        for i in 0..2000 {
            sender.send(frame(i)).await.unwrap();
        }
        sender.send(Bytes::from(vec![7u8; 1 << 20])).await.unwrap();
    });
    for i in 0..2000 {
        let got = server.recv().await.expect("frame");
        assert_eq!(got, frame(i), "frame {i} intact and in order");
    }
    assert_eq!(server.recv().await.expect("1 MiB").len(), 1 << 20);
    pump.await.unwrap();
    // And back.
    server.send(Bytes::from_static(b"pong")).await.unwrap();
    assert_eq!(client.recv().await.unwrap(), Bytes::from_static(b"pong"));
    // Dropping one end ends the other cleanly.
    drop(server);
    assert!(client.recv().await.is_none());
}

#[tokio::test]
async fn an_untrusted_node_cannot_open_a_link() {
    let (a, b) = keys();
    let stranger = Arc::new(NodeKey::from_seed(&[66; 32]));
    // b trusts only a.
    let listener = LinkListener::bind(
        loopback(),
        Arc::clone(&b),
        policy(&[&a]),
        LinkConfig::default(),
    )
    .await
    .unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { listener.accept().await });
    let client = connect(addr, &stranger, &policy(&[&b]), &LinkConfig::default()).await;
    match server.await.unwrap() {
        Err(LinkError::Handshake(HandshakeError::Untrusted(did))) => {
            assert_eq!(did, stranger.did());
        }
        other => panic!("server accepted an untrusted peer: {other:?}"),
    }
    assert!(
        matches!(client, Err(LinkError::ClosedInHandshake(_))),
        "{client:?}"
    );
}

#[tokio::test]
async fn a_hostile_length_ends_the_link_without_allocating_it() {
    let (a, b) = keys();
    let config = LinkConfig {
        max_frame: 1 << 20,
        ..LinkConfig::default()
    };
    let listener = LinkListener::bind(loopback(), Arc::clone(&b), policy(&[&a]), config)
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { listener.accept().await.unwrap() });
    // A hand-driven client: a correct handshake, then a 4 GiB length prefix.
    let mut raw = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut hs, hello) = Handshake::start(Role::Initiator, &a, fresh_nonce());
    raw.write_all(&prefix(hello.len(), 1 << 20).unwrap())
        .await
        .unwrap();
    raw.write_all(&hello).await.unwrap();
    let mut decoder = FrameDecoder::new(1 << 20);
    loop {
        if let Some(f) = decoder.next_frame().unwrap() {
            let out = hs.on_frame(&f, |_| true).unwrap();
            if let Some(reply) = out.send {
                raw.write_all(&prefix(reply.len(), 1 << 20).unwrap())
                    .await
                    .unwrap();
                raw.write_all(&reply).await.unwrap();
            }
            if out.established.is_some() {
                break;
            }
            continue;
        }
        assert!(raw.read_buf(decoder.read_buf()).await.unwrap() > 0);
    }
    let mut link = server.await.unwrap();
    raw.write_all(&u32::MAX.to_le_bytes()).await.unwrap();
    assert!(link.recv().await.is_none(), "the link ends");
    let reason = link.end_reason().unwrap();
    assert!(
        reason.contains("4294967295") && reason.contains("at most 1048576"),
        "{reason}"
    );
}

#[tokio::test]
async fn a_slow_reader_pushes_back_on_the_sender() {
    let (a, b) = keys();
    let small = LinkConfig {
        queue: 4,
        ..LinkConfig::default()
    };
    let listener = LinkListener::bind(loopback(), Arc::clone(&b), policy(&[&a]), small.clone())
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { listener.accept().await.unwrap() });
    let client = connect(addr, &a, &policy(&[&b]), &small).await.unwrap();
    let mut server = server.await.unwrap();
    // Nobody reads: the queues and the socket buffers fill, then `send` waits.
    let chunk = Bytes::from(vec![1u8; 256 << 10]);
    let mut sent = 0usize;
    let blocked = loop {
        match tokio::time::timeout(Duration::from_millis(300), client.send(chunk.clone())).await {
            Ok(result) => {
                result.unwrap();
                sent += 1;
                assert!(sent < 4096, "1 GiB queued without back-pressure");
            }
            Err(_) => break true,
        }
    };
    assert!(blocked);
    // Reading drains everything that was accepted, in full.
    for _ in 0..sent {
        assert_eq!(server.recv().await.unwrap().len(), 256 << 10);
    }
}

#[tokio::test]
async fn redial_reconnects_once_the_listener_is_back() {
    let (a, b) = keys();
    // Reserve a port, then close it: the first attempts are refused.
    let port = std::net::TcpListener::bind(loopback())
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let mut redial =
        Redial::new(addr, Arc::clone(&a), policy(&[&b]), LinkConfig::default()).with_backoff(
            Backoff::new(Duration::from_millis(20), Duration::from_millis(200)),
        );
    let b2 = Arc::clone(&b);
    let server = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let listener = LinkListener::bind(addr, b2, policy(&[&a]), LinkConfig::default())
            .await
            .unwrap();
        listener.accept().await.unwrap()
    });
    let link = redial.connect(50).await.unwrap();
    assert_eq!(link.peer(), b.public());
    let mut accepted = server.await.unwrap();
    link.send(Bytes::from_static(b"after reconnect"))
        .await
        .unwrap();
    assert_eq!(
        accepted.recv().await.unwrap(),
        Bytes::from_static(b"after reconnect")
    );
}

fn offering(codec: Codec) -> LinkConfig {
    LinkConfig {
        compression: CompressionConfig {
            codec,
            min_bytes: 1024,
        },
        ..LinkConfig::default()
    }
}

/// Opens a link whose ends offer `ours` and `theirs`.
async fn linked(
    ours: Codec,
    theirs: Codec,
) -> (mesh_core::net::tcp::Link, mesh_core::net::tcp::Link) {
    let (a, b) = keys();
    let listener = LinkListener::bind(loopback(), Arc::clone(&b), policy(&[&a]), offering(theirs))
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { listener.accept().await.unwrap() });
    let client = connect(addr, &a, &policy(&[&b]), &offering(ours))
        .await
        .unwrap();
    (client, server.await.unwrap())
}

/// A compressible frame (a 1 MiB map-like payload) starting with its index.
fn compressible(i: u32) -> Bytes {
    let mut f: Vec<u8> = (0..1u32 << 20).map(|j| (j / 256 % 5) as u8).collect();
    f[..4].copy_from_slice(&i.to_le_bytes());
    Bytes::from(f)
}

#[tokio::test]
async fn compression_is_used_only_when_both_ends_offer_it() {
    // Both offer LZ4: large frames cross compressed and arrive intact; small ones too.
    let (client, mut server) = linked(Codec::Lz4, Codec::Lz4).await;
    assert!(client.compressed() && server.compressed());
    for i in 0..4 {
        client.send(compressible(i)).await.unwrap();
        client.send(frame(i)).await.unwrap();
    }
    for i in 0..4 {
        assert_eq!(server.recv().await.unwrap(), compressible(i));
        assert_eq!(server.recv().await.unwrap(), frame(i));
    }
    let stats = client.stats();
    assert!(
        stats.wire_bytes_sent * 10 < stats.frame_bytes_sent,
        "LZ4 should shrink these frames tenfold: {stats:?}"
    );
    // One end offers nothing: frames go uncompressed, byte for byte.
    for (ours, theirs) in [(Codec::Lz4, Codec::Off), (Codec::Off, Codec::Lz4)] {
        let (client, mut server) = linked(ours, theirs).await;
        assert!(!client.compressed() && !server.compressed());
        client.send(compressible(7)).await.unwrap();
        assert_eq!(server.recv().await.unwrap(), compressible(7));
        let stats = client.stats();
        assert!(stats.wire_bytes_sent > stats.frame_bytes_sent, "{stats:?}");
    }
}

#[tokio::test]
async fn a_compressed_frame_on_an_uncompressed_link_ends_it() {
    let (a, b) = keys();
    let listener = LinkListener::bind(
        loopback(),
        Arc::clone(&b),
        policy(&[&a]),
        offering(Codec::Off),
    )
    .await
    .unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { listener.accept().await.unwrap() });
    let client = connect(addr, &a, &policy(&[&b]), &offering(Codec::Off))
        .await
        .unwrap();
    let mut server = server.await.unwrap();
    // A frame that looks compressed although nobody offered compression.
    let mut forged = b"OMLZ".to_vec();
    forged.extend_from_slice(&64u32.to_le_bytes());
    forged.extend_from_slice(&[0u8; 16]);
    client.send(Bytes::from(forged)).await.unwrap();
    assert!(server.recv().await.is_none(), "the link must end");
    let reason = server.end_reason().expect("a reason");
    assert!(reason.contains("compressed"), "{reason}");
}
