//! Response bodies: a buffer, or a large generated JSON document streamed in chunks (the
//! oversized-body fault) so it costs no memory.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Frame, SizeHint};

static FILLER: [u8; 64 * 1024] = [b'x'; 64 * 1024];

pub struct ResponseBody {
    head: Option<Bytes>,
    filler_remaining: usize,
    tail: Option<Bytes>,
    remaining: u64,
}

impl ResponseBody {
    pub fn full(bytes: impl Into<Bytes>) -> ResponseBody {
        let bytes = bytes.into();
        let remaining = bytes.len() as u64;
        ResponseBody { head: Some(bytes), filler_remaining: 0, tail: None, remaining }
    }

    /// A valid JSON object of exactly `size` bytes (at least the size of its fixed parts).
    pub fn oversized_json(size: usize) -> ResponseBody {
        let head = Bytes::from_static(br#"{"status":"MORE_DATA","padding":""#);
        let tail = Bytes::from_static(br#""}"#);
        let filler_remaining = size.saturating_sub(head.len() + tail.len());
        let remaining = (head.len() + filler_remaining + tail.len()) as u64;
        ResponseBody { head: Some(head), filler_remaining, tail: Some(tail), remaining }
    }
}

impl http_body::Body for ResponseBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let chunk = if let Some(head) = self.head.take() {
            head
        } else if self.filler_remaining > 0 {
            let size = self.filler_remaining.min(FILLER.len());
            self.filler_remaining -= size;
            Bytes::from_static(&FILLER[..size])
        } else if let Some(tail) = self.tail.take() {
            tail
        } else {
            return Poll::Ready(None);
        };
        self.remaining -= chunk.len() as u64;
        Poll::Ready(Some(Ok(Frame::data(chunk))))
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}
