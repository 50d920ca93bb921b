//! The sending task of a QUIC link: it drains the link's bounded queue and writes what is
//! waiting in batches, one `write_all_chunks` per stream and batch, small frames gathered
//! into one buffer (so a burst of 64-byte frames costs one call, not one each), large frames
//! passed on without a copy. Frames keep their order within a stream (a topic); the first
//! frame of a topic opens its stream. When the queue closes, the streams are finished and
//! the task waits (boundedly) until the peer has read them.

use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use tokio::sync::mpsc;

use super::compress::Compressor;
use super::frame::prefix;

/// Most frames gathered into one batch.
const BATCH_FRAMES: usize = 1024;
/// Most bytes gathered into one batch.
const BATCH_BYTES: usize = 1 << 20;
/// Frames up to this size are copied into the batch buffer; larger ones go as they are.
const COPY_BELOW: usize = 4096;
/// How long closing waits for the peer to read what was sent.
const FINISH_WAIT: Duration = Duration::from_secs(5);

/// One stream's part of a batch.
struct Pending {
    key: [u8; 16],
    small: BytesMut,
    chunks: Vec<Bytes>,
}

impl Pending {
    fn push(&mut self, frame: Bytes) {
        let Ok(head) = prefix(frame.len(), usize::MAX) else {
            return; // empty frames were refused by `send`
        };
        if frame.len() <= COPY_BELOW {
            self.small.put_slice(&head);
            self.small.put_slice(&frame);
        } else {
            self.flush_small();
            self.chunks.push(Bytes::copy_from_slice(&head));
            self.chunks.push(frame);
        }
    }

    fn flush_small(&mut self) {
        if !self.small.is_empty() {
            self.chunks.push(self.small.split().freeze());
        }
    }
}

/// Runs until every sender of `queue` is gone (then finishes the streams) or a write fails.
pub(super) async fn write_loop(
    conn: quinn::Connection,
    mut queue: mpsc::Receiver<([u8; 16], Bytes)>,
    compressor: Compressor,
) {
    let mut streams: Vec<([u8; 16], quinn::SendStream)> = Vec::new();
    let mut batch: Vec<Pending> = Vec::new();
    while let Some(first) = queue.recv().await {
        let (mut frames, mut bytes) = (0, 0);
        let mut next = Some(first);
        while let Some((key, frame)) = next.take() {
            frames += 1;
            bytes += frame.len();
            let frame = compressor.compress(frame);
            let part = match batch.iter().position(|p| p.key == key) {
                Some(i) => &mut batch[i],
                None => {
                    batch.push(Pending {
                        key,
                        small: BytesMut::new(),
                        chunks: Vec::new(),
                    });
                    batch
                        .last_mut()
                        .unwrap_or_else(|| unreachable!("just pushed"))
                }
            };
            part.push(frame);
            if frames < BATCH_FRAMES && bytes < BATCH_BYTES {
                next = queue.try_recv().ok();
            }
        }
        for mut part in batch.drain(..) {
            part.flush_small();
            let stream = match streams.iter().position(|(k, _)| *k == part.key) {
                Some(i) => &mut streams[i].1,
                None => match conn.open_uni().await {
                    Ok(s) => {
                        streams.push((part.key, s));
                        &mut streams.last_mut().unwrap_or_else(|| unreachable!()).1
                    }
                    Err(e) => {
                        tracing::debug!(error = %e, "QUIC link: cannot open a stream");
                        return;
                    }
                },
            };
            if let Err(e) = stream.write_all_chunks(&mut part.chunks).await {
                tracing::debug!(error = %e, "QUIC link: write failed");
                return;
            }
        }
    }
    for (_, s) in &mut streams {
        let _ = s.finish();
    }
    for (_, s) in &mut streams {
        let _ = tokio::time::timeout(FINISH_WAIT, s.stopped()).await;
    }
}
