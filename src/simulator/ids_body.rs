//! The `/__sim/ids` body of a tenant of many chunks, written chunk by chunk as the client reads
//! it: `{"ids":[…],"lateIds":[…]}` without every id in memory at once (ten million ids are
//! about 400 MB of JSON). Each chunk's ids are read under the tenant's lock on their own, so
//! records inserted while the body is written appear if their chunk comes later.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use hyper::body::{Bytes, Frame};

use super::server::Shared;

/// A streamed `{ids, lateIds}` body.
pub struct IdsBody {
    shared: Arc<Shared>,
    /// The next chunk to write; past the last, the closing `lateIds`.
    next: usize,
    chunks: usize,
    done: bool,
    wrote_any: bool,
}

impl IdsBody {
    pub fn new(shared: Arc<Shared>) -> Self {
        let chunks = shared.tenant().chunk_count();
        IdsBody { shared, next: 0, chunks, done: false, wrote_any: false }
    }

    /// The next piece of the body, `None` once it is all written.
    fn piece(&mut self) -> Option<Bytes> {
        if self.done {
            return None;
        }
        let tenant = self.shared.tenant();
        let mut out: Vec<u8> = Vec::new();
        if self.next == 0 {
            out.extend(b"{\"ids\":[");
        }
        if self.next < self.chunks {
            tenant.visit_chunk(self.next, |r| {
                if self.wrote_any {
                    out.push(b',');
                }
                self.wrote_any = true;
                let _ = serde_json::to_writer(&mut out, &r.event.id);
            });
            self.next += 1;
        } else {
            out.extend(b"],\"lateIds\":");
            let _ = serde_json::to_writer(&mut out, &tenant.late_ids());
            out.push(b'}');
            self.done = true;
        }
        Some(Bytes::from(out))
    }
}

impl hyper::body::Body for IdsBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.get_mut().piece().map(|b| Ok(Frame::data(b))))
    }

    fn is_end_stream(&self) -> bool {
        self.done
    }
}
