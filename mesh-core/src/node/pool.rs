//! Reused buffers for the private copies default subscribers verify: a copy returns its buffer
//! to its subscriber's pool when the sample is dropped, so the steady-state receive path does
//! not allocate.

use std::sync::{Arc, Mutex, PoisonError, Weak};

use mesh_msg_runtime::rkyv::util::AlignedVec;

/// Buffers kept for reuse per subscriber (samples held at once beyond this are allocated).
const KEPT: usize = 8;

/// A subscriber's free buffers.
#[derive(Debug, Default)]
pub(crate) struct BufferPool {
    free: Mutex<Vec<AlignedVec>>,
}

impl BufferPool {
    /// A copy of `bytes` in a reused (or, when none is free, new) aligned buffer.
    pub(crate) fn copy_of(self: &Arc<Self>, bytes: &[u8]) -> PooledBuf {
        let reused = self
            .free
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let mut buf = reused.unwrap_or_default();
        buf.clear();
        buf.extend_from_slice(bytes);
        PooledBuf {
            buf,
            pool: Arc::downgrade(self),
        }
    }
}

/// A private copy of a frame; its buffer goes back to the pool on drop.
#[derive(Debug)]
pub struct PooledBuf {
    buf: AlignedVec,
    pool: Weak<BufferPool>,
}

impl AsRef<[u8]> for PooledBuf {
    fn as_ref(&self) -> &[u8] {
        self.buf.as_slice()
    }
}

impl Drop for PooledBuf {
    fn drop(&mut self) {
        if let Some(pool) = self.pool.upgrade() {
            let mut free = pool.free.lock().unwrap_or_else(PoisonError::into_inner);
            if free.len() < KEPT {
                free.push(std::mem::take(&mut self.buf));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_come_back_and_are_reused() {
        let pool = Arc::new(BufferPool::default());
        let first = pool.copy_of(&[1, 2, 3]);
        let ptr = first.as_ref().as_ptr();
        drop(first);
        let second = pool.copy_of(&[4, 5]);
        assert_eq!(second.as_ref(), &[4, 5]);
        assert_eq!(second.as_ref().as_ptr(), ptr, "the same buffer, reused");
        drop(pool);
        drop(second); // the pool is gone: the buffer is simply freed
    }
}
