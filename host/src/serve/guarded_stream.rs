//! [`GuardedStream`]: an accepted TCP connection as hyper reads it, with every request head
//! checked by a [`Framer`] first. A refused head never reaches hyper: hyper sees the end of
//! the stream at that message boundary and closes quietly, and serve answers the refusal itself
//! ([`GuardedStream::answer_refusal`]) with a SCIM Error document.
//!
//! Bodies stream through as they arrive (nothing is buffered beyond one socket read), so the
//! component still sees the head before any body byte and can refuse or drain the body itself.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;

use super::config::HeadLimits;
use super::error_response;
use super::framing::{Framer, Refusal, Step};

/// How much is read from the socket at once.
const READ_SIZE: usize = 16 << 10;
/// After a refusal: how much of what the client still sends is read and discarded, and for how
/// long, so that it can read the answer instead of seeing the connection reset.
const DRAIN_BYTES: usize = 1 << 20;
const DRAIN_TIME: Duration = Duration::from_secs(2);

/// A connection whose request heads are checked before hyper reads them.
pub(crate) struct GuardedStream {
    stream: TcpStream,
    framer: Framer,
    /// Bytes read from the socket and not yet given to hyper.
    pending: BytesMut,
    /// How many of `pending`'s first bytes the framer has released to hyper.
    released: usize,
    /// The socket has reached its end.
    eof: bool,
    /// A refused head, answered once hyper is done.
    refusal: Option<Refusal>,
    scratch: Box<[u8; READ_SIZE]>,
}

impl GuardedStream {
    /// Wraps an accepted connection.
    pub(crate) fn new(stream: TcpStream, limits: HeadLimits) -> Self {
        GuardedStream {
            stream,
            framer: Framer::new(limits),
            pending: BytesMut::new(),
            released: 0,
            eof: false,
            refusal: None,
            scratch: Box::new([0; READ_SIZE]),
        }
    }

    /// The refused head, if one was: hyper has not seen it and the connection is still open
    /// for [`GuardedStream::answer_refusal`].
    pub(crate) fn take_refusal(&mut self) -> Option<Refusal> {
        self.refusal.take()
    }

    /// Writes the SCIM error answering `refusal` in one write, with `Connection: close`, then
    /// closes the connection after reading (and discarding) what the client still sends, within
    /// a bound.
    pub(crate) async fn answer_refusal(mut self, refusal: &Refusal) {
        let response = error_response::raw(refusal.status, &refusal.detail);
        if self.stream.write_all(&response).await.is_err() {
            return;
        }
        let _ = self.stream.shutdown().await;
        let drain = async {
            let mut read = 0;
            while read < DRAIN_BYTES {
                match self.stream.read(&mut self.scratch[..]).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => read += n,
                }
            }
        };
        let _ = tokio::time::timeout(DRAIN_TIME, drain).await;
    }

    /// Reads more from the socket into `pending` (sets `eof` at its end).
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut buf = ReadBuf::new(&mut self.scratch[..]);
        ready!(Pin::new(&mut self.stream).poll_read(cx, &mut buf))?;
        if buf.filled().is_empty() {
            self.eof = true;
        } else {
            self.pending.extend_from_slice(buf.filled());
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncRead for GuardedStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if this.released > 0 {
                let n = this.released.min(buf.remaining());
                buf.put_slice(&this.pending[..n]);
                this.pending.advance(n);
                this.released -= n;
                return Poll::Ready(Ok(()));
            }
            if this.refusal.is_some() {
                // The end of the stream, for hyper, at a message boundary.
                return Poll::Ready(Ok(()));
            }
            match this.framer.step(&this.pending) {
                Step::Release(n) => this.released = n,
                Step::Refuse(refusal) => this.refusal = Some(refusal),
                Step::NeedMore if this.eof => {
                    // Nothing more will come: let hyper judge what there is (an incomplete
                    // message it drops), then the end.
                    if this.pending.is_empty() {
                        return Poll::Ready(Ok(()));
                    }
                    this.released = this.pending.len();
                }
                Step::NeedMore => ready!(this.poll_fill(cx))?,
            }
        }
    }
}

impl AsyncWrite for GuardedStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.refusal.is_some() {
            // The connection stays open for the answer.
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.stream).poll_shutdown(cx)
    }
}
