//! Connections that can be cut mid-response, to simulate `drop_after_commit_rate`.
//!
//! [`FaultListener`] wraps the TCP listener; every accepted stream becomes a
//! [`FaultIo`] with a shared [`ConnHandle`] that handlers reach through axum's
//! `ConnectInfo`. After [`ConnHandle::cut_after_headers`], the stream lets the
//! bytes up to the end of the next response's header block through and then fails
//! every write, so hyper closes the connection: the client has a status line and
//! headers (with a `Content-Length` it will never get) and then a body read error.
//! No extra dependency is needed, unlike a failing body stream (`http-body`).

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// The per-connection switch handlers use to cut the response.
#[derive(Clone, Debug, Default)]
pub(crate) struct ConnHandle {
    cut: Arc<AtomicBool>,
}

impl ConnHandle {
    /// Lets the next response's headers out, then kills the connection.
    pub fn cut_after_headers(&self) {
        self.cut.store(true, Ordering::SeqCst);
    }

    fn is_cut(&self) -> bool {
        self.cut.load(Ordering::SeqCst)
    }
}

impl Connected<IncomingStream<'_, FaultListener>> for ConnHandle {
    fn connect_info(stream: IncomingStream<'_, FaultListener>) -> Self {
        stream.io().handle.clone()
    }
}

/// A TCP listener whose connections can be cut (see the module docs).
pub(crate) struct FaultListener {
    inner: TcpListener,
}

impl FaultListener {
    pub fn new(inner: TcpListener) -> FaultListener {
        FaultListener { inner }
    }
}

impl Listener for FaultListener {
    type Io = FaultIo;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (stream, addr) = Listener::accept(&mut self.inner).await;
        let io = FaultIo {
            inner: stream,
            handle: ConnHandle::default(),
            dead: false,
        };
        (io, addr)
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// A TCP stream that fails writes after the header block once its handle is cut.
pub(crate) struct FaultIo {
    inner: TcpStream,
    handle: ConnHandle,
    dead: bool,
}

impl AsyncRead for FaultIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

fn header_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4)
}

impl AsyncWrite for FaultIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.dead {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::ConnectionReset,
                "sandbox fault: response dropped after commit",
            )));
        }
        if !self.handle.is_cut() {
            return Pin::new(&mut self.inner).poll_write(cx, buf);
        }
        // Headers and body usually arrive in one flattened buffer (vectored writes
        // are off below): write up to the blank line, then play dead.
        match header_end(buf) {
            Some(end) => match Pin::new(&mut self.inner).poll_write(cx, &buf[..end]) {
                Poll::Ready(Ok(n)) => {
                    if n == end {
                        self.dead = true;
                    }
                    Poll::Ready(Ok(n))
                }
                other => other,
            },
            None => Pin::new(&mut self.inner).poll_write(cx, buf),
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        // Keep hyper on plain writes so the header scan above sees whole buffers.
        false
    }
}

#[cfg(test)]
mod tests {
    use super::header_end;

    #[test]
    fn finds_the_end_of_the_header_block() {
        assert_eq!(header_end(b"HTTP/1.1 200 OK\r\na: b\r\n\r\n{}"), Some(25));
        assert_eq!(header_end(b"HTTP/1.1 200 OK\r\n"), None);
    }
}
