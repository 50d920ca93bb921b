//! QUIC links over loopback: TLS 1.3 with certificates made from node keys, verified by
//! identity on both sides; per-topic streams keep each topic in order; datagrams; refusals
//! of untrusted peers in both directions and of an unexpected peer.
#![cfg(feature = "quic")]

mod common;

use std::sync::Arc;

use bytes::Bytes;
use mesh_core::envelope::{HEADER_LEN, MAGIC};
use mesh_core::identity::NodeKey;
use mesh_core::net::compress::{Codec, CompressionConfig};
use mesh_core::net::quic::{QuicConfig, QuicEndpoint, QuicError};
use mesh_core::security::SecurityPolicy;

fn policy(trusted: &[&NodeKey]) -> Arc<SecurityPolicy> {
    common::lightweight_policy(trusted)
}

use common::loopback;

/// An envelope-shaped frame of `topic` (magic and topic id where the header has them) whose
/// bytes after the header carry `seq`.
fn topic_frame(topic: u8, seq: u32, len: usize) -> Bytes {
    let mut f = vec![0u8; HEADER_LEN + len.max(4)];
    f[..4].copy_from_slice(&MAGIC);
    f[8..24].fill(topic);
    f[HEADER_LEN..HEADER_LEN + 4].copy_from_slice(&seq.to_le_bytes());
    Bytes::from(f)
}

fn keys() -> (NodeKey, NodeKey) {
    (NodeKey::from_seed(&[81; 32]), NodeKey::from_seed(&[82; 32]))
}

#[tokio::test]
async fn topics_flow_in_order_over_mutually_authenticated_quic() {
    let (a, b) = keys();
    let server = QuicEndpoint::bind(loopback(), &b, policy(&[&a]), QuicConfig::default()).unwrap();
    let addr = server.local_addr().unwrap();
    let client = QuicEndpoint::bind(loopback(), &a, policy(&[&b]), QuicConfig::default()).unwrap();
    let accept = tokio::spawn(async move {
        let link = server.accept().await.unwrap();
        (server, link)
    });
    let link = client.connect(addr, Some(b.public())).await.unwrap();
    let (_server, theirs) = accept.await.unwrap();
    assert_eq!(link.peer(), b.public());
    assert_eq!(theirs.peer(), a.public());

    // Three topics interleaved, plus control frames and one 1 MiB frame.
    for seq in 0..300u32 {
        link.send(topic_frame((seq % 3) as u8 + 1, seq, 64))
            .await
            .unwrap();
        if seq % 50 == 0 {
            link.send(Bytes::from_static(b"control")).await.unwrap();
        }
    }
    link.send(topic_frame(9, 0, 1 << 20)).await.unwrap();
    let mut last = [None::<u32>; 10];
    let (mut data, mut control, mut big) = (0, 0, 0);
    while data + control + big < 300 + 6 + 1 {
        let f = theirs.recv().await.expect("frame");
        if f.as_ref() == b"control" {
            control += 1;
            continue;
        }
        let topic = usize::from(f[8]);
        let seq = u32::from_le_bytes(f[HEADER_LEN..HEADER_LEN + 4].try_into().unwrap());
        if topic == 9 {
            assert_eq!(f.len(), HEADER_LEN + (1 << 20));
            big += 1;
            continue;
        }
        if let Some(prev) = last[topic] {
            assert!(seq > prev, "topic {topic} out of order: {prev} then {seq}");
        }
        last[topic] = Some(seq);
        data += 1;
    }
    assert_eq!((data, control, big), (300, 6, 1));
    // Best effort: a datagram.
    link.send_datagram(Bytes::from_static(b"best effort"))
        .unwrap();
    assert_eq!(
        theirs.recv().await.unwrap(),
        Bytes::from_static(b"best effort")
    );
    let too_big = link.send_datagram(Bytes::from(vec![0u8; 100_000]));
    assert!(matches!(too_big, Err(QuicError::Send(_))), "{too_big:?}");
}

#[tokio::test]
async fn untrusted_peers_are_refused_both_ways() {
    let (a, b) = keys();
    let stranger = NodeKey::from_seed(&[89; 32]);
    // The server trusts only a: the stranger's connection fails.
    let server = QuicEndpoint::bind(loopback(), &b, policy(&[&a]), QuicConfig::default()).unwrap();
    let addr = server.local_addr().unwrap();
    let accept = tokio::spawn(async move { server.accept().await.map(|l| l.peer()) });
    let intruder =
        QuicEndpoint::bind(loopback(), &stranger, policy(&[&b]), QuicConfig::default()).unwrap();
    // TLS 1.3 finishes on the client before the server has judged the client's certificate,
    // so the client may see a link for a moment; the server's refusal then closes it.
    if let Ok(link) = intruder.connect(addr, None).await {
        let _ = link.send(Bytes::from_static(b"let me in")).await;
        let ended = tokio::time::timeout(std::time::Duration::from_secs(5), link.recv()).await;
        assert!(
            matches!(ended, Ok(None)),
            "the refused link must end: {ended:?}"
        );
        let reason = link.end_reason().unwrap_or_default();
        assert!(reason.contains("not trusted"), "{reason}");
    }
    let accepted = accept.await.unwrap();
    assert!(
        accepted.is_err(),
        "the server accepted an untrusted client: {accepted:?}"
    );

    // The client trusts only b: a server with another key is refused by the client.
    let impostor =
        QuicEndpoint::bind(loopback(), &stranger, policy(&[&a]), QuicConfig::default()).unwrap();
    let addr = impostor.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = impostor.accept().await;
    });
    let client = QuicEndpoint::bind(loopback(), &a, policy(&[&b]), QuicConfig::default()).unwrap();
    let err = client.connect(addr, None).await.unwrap_err();
    assert!(err.to_string().contains("not trusted"), "{err}");
}

#[tokio::test]
async fn a_trusted_but_unexpected_peer_is_refused() {
    let (a, b) = keys();
    let c = NodeKey::from_seed(&[83; 32]);
    // c answers at the address where the client expects b; the client trusts both.
    let server = QuicEndpoint::bind(loopback(), &c, policy(&[&a]), QuicConfig::default()).unwrap();
    let addr = server.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = server.accept().await;
    });
    let client =
        QuicEndpoint::bind(loopback(), &a, policy(&[&b, &c]), QuicConfig::default()).unwrap();
    match client.connect(addr, Some(b.public())).await {
        Err(QuicError::WrongPeer {
            found, expected, ..
        }) => {
            assert_eq!((found, expected), (c.did(), b.did()));
        }
        other => panic!("expected WrongPeer, got {other:?}"),
    }
}

fn offering(codec: Codec) -> QuicConfig {
    QuicConfig {
        compression: CompressionConfig {
            codec,
            min_bytes: 1024,
        },
        ..QuicConfig::default()
    }
}

#[tokio::test]
async fn compression_is_negotiated_in_the_tls_handshake() {
    let (a, b) = keys();
    for (ours, theirs, want) in [
        (Codec::Lz4, Codec::Lz4, true),
        (Codec::Lz4, Codec::Off, false),
        (Codec::Off, Codec::Lz4, false),
    ] {
        let server = QuicEndpoint::bind(loopback(), &b, policy(&[&a]), offering(theirs)).unwrap();
        let addr = server.local_addr().unwrap();
        let client = QuicEndpoint::bind(loopback(), &a, policy(&[&b]), offering(ours)).unwrap();
        let accept = tokio::spawn(async move {
            let link = server.accept().await.unwrap();
            (server, link)
        });
        let link = client.connect(addr, Some(b.public())).await.unwrap();
        let (_server, theirs_link) = accept.await.unwrap();
        assert_eq!((link.compressed(), theirs_link.compressed()), (want, want));
        // A compressible 1 MiB frame and a small one arrive intact either way.
        let mut big = topic_frame(4, 1, 1 << 20).to_vec();
        for (j, b) in big[HEADER_LEN + 4..].iter_mut().enumerate() {
            *b = (j / 256 % 5) as u8;
        }
        let big = Bytes::from(big);
        link.send(big.clone()).await.unwrap();
        link.send(topic_frame(4, 2, 64)).await.unwrap();
        assert_eq!(theirs_link.recv().await.unwrap(), big);
        assert_eq!(theirs_link.recv().await.unwrap(), topic_frame(4, 2, 64));
    }
}
