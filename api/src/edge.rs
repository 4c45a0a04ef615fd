//! Limits enforced on the connection itself, before hyper parses a request:
//! a request line longer than [`MAX_REQUEST_LINE`] is answered with a 414
//! problem (`urn:hoso:problem:request:uri-too-long`) written by us. hyper
//! answers URIs beyond its own fixed bound (about 64 KiB) with a bare 414
//! before any service runs, so no middleware could give that answer a body.
//!
//! [`GuardedListener`] wraps every accepted stream in a [`Guarded`] that
//! follows HTTP/1.1 framing as the bytes go by: it measures each request line,
//! finds the end of the head, and skips a body of `Content-Length` bytes so
//! that under keep-alive every request's line is measured, and no upload body
//! is ever taken for one. A head it cannot frame exactly (a chunked body, an
//! unparseable head, or a head beyond hyper's own buffer) ends the guard's
//! watch of that connection; hyper's own rules still apply to it.
//!
//! The refused request is never given to hyper: the guard writes its answer,
//! shuts its side down and reads until the client closes (so that unread
//! input does not turn the close into a reset that destroys the answer), then
//! reports end of input. Requests before it on the connection are served
//! first; a client that pipelines a long line right behind another request
//! could in principle see the refusal interleaved with that request's
//! answer, which HTTP/1.1 clients in practice do not do.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use axum::http::StatusCode;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

use crate::problem::Problem;

/// Longest request line (method, target and version) accepted, in bytes.
pub const MAX_REQUEST_LINE: usize = 16 * 1024;

/// Longest head the guard follows; hyper refuses longer heads itself (431).
const MAX_HEAD: usize = 512 * 1024;

/// Most bytes read and dropped after a refusal while waiting for the client
/// to close, so that our answer is not destroyed by a reset (closing a socket
/// with unread input resets it).
const MAX_DRAIN: usize = 1024 * 1024;

/// A [`TcpListener`] whose connections are [`Guarded`].
#[derive(Debug)]
pub struct GuardedListener(pub TcpListener);

impl axum::serve::Listener for GuardedListener {
    type Io = Guarded<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (io, addr) = axum::serve::Listener::accept(&mut self.0).await;
        (Guarded::new(io), addr)
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.0.local_addr()
    }
}

#[derive(Debug)]
enum Phase {
    /// Reading a head; `head` holds its bytes so far, `line_done` says
    /// whether its request line has ended (within the limit).
    Head { head: Vec<u8>, line_done: bool },
    /// Passing `remaining` bytes of body.
    Body { remaining: u64 },
    /// No longer following this connection.
    Off,
    /// Writing our refusal; then shutting down our side.
    Refusing { answer: Vec<u8>, written: usize },
    /// Refused: reading and dropping until the client closes.
    Draining { drained: usize },
}

impl Phase {
    const fn new_head() -> Self {
        Self::Head {
            head: Vec::new(),
            line_done: false,
        }
    }
}

/// A stream that refuses over-long request lines itself (see the module
/// documentation).
#[derive(Debug)]
pub struct Guarded<T> {
    inner: T,
    phase: Phase,
}

impl<T> Guarded<T> {
    /// Guards `inner` from its first byte.
    pub fn new(inner: T) -> Self {
        Self {
            inner,
            phase: Phase::new_head(),
        }
    }
}

/// What scanning newly read bytes found.
enum Scan {
    /// Everything may go to hyper.
    Pass,
    /// A request line is too long; the request starts at this offset of the
    /// scanned bytes (0 when it started in an earlier read).
    Refuse { request_starts: usize },
}

impl<T> Guarded<T> {
    fn scan(&mut self, mut bytes: &[u8]) -> Scan {
        let mut offset = 0usize;
        loop {
            if bytes.is_empty() {
                return Scan::Pass;
            }
            match &mut self.phase {
                Phase::Off | Phase::Refusing { .. } | Phase::Draining { .. } => return Scan::Pass,
                Phase::Body { remaining } => {
                    let n = usize::try_from(*remaining)
                        .unwrap_or(usize::MAX)
                        .min(bytes.len());
                    // `n` fits the remaining count by construction.
                    *remaining -= n as u64;
                    if *remaining == 0 {
                        self.phase = Phase::new_head();
                    }
                    bytes = &bytes[n..];
                    offset += n;
                }
                Phase::Head { head, line_done } => {
                    let started_here = head.is_empty();
                    let before = head.len();
                    head.extend_from_slice(bytes);
                    // Each byte is searched once, however small the reads:
                    // the line's end from where the last search stopped, the
                    // head's end from the last three bytes before on.
                    if !*line_done {
                        let line_end = head[before..]
                            .iter()
                            .position(|&b| b == b'\n')
                            .map(|i| before + i);
                        if line_end.unwrap_or(head.len()) > MAX_REQUEST_LINE {
                            return Scan::Refuse {
                                request_starts: if started_here { offset } else { 0 },
                            };
                        }
                        *line_done = line_end.is_some();
                    }
                    let search_from = before.saturating_sub(3);
                    let end = find(&head[search_from..], b"\r\n\r\n").map(|i| search_from + i + 4);
                    let Some(end) = end else {
                        if head.len() > MAX_HEAD {
                            self.phase = Phase::Off;
                        }
                        return Scan::Pass;
                    };
                    let consumed = end - before;
                    let next = match body_length(&head[..end]) {
                        Some(0) => Phase::new_head(),
                        Some(n) => Phase::Body { remaining: n },
                        None => Phase::Off,
                    };
                    self.phase = next;
                    bytes = &bytes[consumed..];
                    offset += consumed;
                }
            }
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The body length a request head announces: 0 without one, `None` when the
/// guard cannot follow it (chunked, malformed, conflicting).
fn body_length(head: &[u8]) -> Option<u64> {
    let mut headers = [httparse::EMPTY_HEADER; 128];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(head) {
        Ok(httparse::Status::Complete(_)) => {}
        _ => return None,
    }
    let mut length = None;
    for h in req.headers.iter() {
        if h.name.eq_ignore_ascii_case("transfer-encoding") {
            return None;
        }
        if h.name.eq_ignore_ascii_case("content-length") {
            let n: u64 = std::str::from_utf8(h.value).ok()?.trim().parse().ok()?;
            if length.is_some_and(|l| l != n) {
                return None;
            }
            length = Some(n);
        }
    }
    Some(length.unwrap_or(0))
}

/// Our answer to an over-long request line: a complete HTTP/1.1 response
/// that closes the connection.
fn refusal() -> Vec<u8> {
    let problem = Problem::new(
        StatusCode::URI_TOO_LONG,
        "request",
        "uri-too-long",
        format!(
            "the request line is longer than {MAX_REQUEST_LINE} bytes; send long input in a request body"
        ),
    );
    let body = serde_json::to_vec(&problem).unwrap_or_default();
    let mut out = format!(
        "HTTP/1.1 414 URI Too Long\r\ncontent-type: application/problem+json\r\ncontent-length: {}\r\nx-content-type-options: nosniff\r\nconnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(&body);
    out
}

impl<T: AsyncRead + AsyncWrite + Unpin> AsyncRead for Guarded<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            match &mut this.phase {
                Phase::Refusing { answer, written } => {
                    while *written < answer.len() {
                        let n =
                            ready!(Pin::new(&mut this.inner).poll_write(cx, &answer[*written..]))?;
                        if n == 0 {
                            return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
                        }
                        *written += n;
                    }
                    ready!(Pin::new(&mut this.inner).poll_shutdown(cx))?;
                    this.phase = Phase::Draining { drained: 0 };
                }
                Phase::Draining { drained } => {
                    let mut scratch = [0u8; 8192];
                    let mut sink = ReadBuf::new(&mut scratch);
                    ready!(Pin::new(&mut this.inner).poll_read(cx, &mut sink))?;
                    let n = sink.filled().len();
                    *drained += n;
                    if n == 0 || *drained > MAX_DRAIN {
                        // End of input for hyper: the connection ends with
                        // the refused request never seen by it.
                        return Poll::Ready(Ok(()));
                    }
                }
                _ => {
                    let before = buf.filled().len();
                    ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
                    let Scan::Refuse { request_starts } = this.scan(&buf.filled()[before..]) else {
                        return Poll::Ready(Ok(()));
                    };
                    // hyper gets the requests before the refused one; the
                    // refusal is written when it next reads (or now, if it
                    // gets nothing from this read).
                    buf.set_filled(before + request_starts);
                    this.phase = Phase::Refusing {
                        answer: refusal(),
                        written: 0,
                    };
                    if request_starts > 0 {
                        return Poll::Ready(Ok(()));
                    }
                }
            }
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Guarded<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Feeds `input` to a guarded stream in chunks of `chunk` bytes; answers
    /// what hyper would read and what the guard wrote back.
    async fn run(input: Vec<u8>, chunk: usize) -> (Vec<u8>, Vec<u8>) {
        let (client, server) = tokio::io::duplex(1 << 20);
        let (mut client_read, mut client_write) = tokio::io::split(client);
        let writer = tokio::spawn(async move {
            for piece in input.chunks(chunk) {
                if client_write.write_all(piece).await.is_err() {
                    break;
                }
            }
            let _ = client_write.shutdown().await;
        });
        let mut guarded = Guarded::new(server);
        let mut seen = Vec::new();
        guarded.read_to_end(&mut seen).await.unwrap();
        drop(guarded);
        let mut answered = Vec::new();
        client_read.read_to_end(&mut answered).await.unwrap();
        writer.await.unwrap();
        (seen, answered)
    }

    fn get(target_len: usize) -> Vec<u8> {
        format!(
            "GET /x?q={} HTTP/1.1\r\nhost: a\r\n\r\n",
            "a".repeat(target_len)
        )
        .into_bytes()
    }

    #[tokio::test]
    async fn a_long_request_line_is_answered_with_a_problem() {
        for chunk in [7, 1000, 1 << 20] {
            let (seen, answered) = run(get(100 * 1024), chunk).await;
            assert!(seen.len() <= MAX_REQUEST_LINE + 8192, "{}", seen.len());
            let text = String::from_utf8(answered).unwrap();
            assert!(text.starts_with("HTTP/1.1 414 "), "{text}");
            assert!(text.contains("content-type: application/problem+json"));
            assert!(text.contains("urn:hoso:problem:request:uri-too-long"));
        }
    }

    #[tokio::test]
    async fn keep_alive_requests_and_bodies_pass_and_a_later_long_line_is_refused() {
        // A body far longer than the limit, without a line break, is a body.
        let body = vec![b'x'; 100 * 1024];
        let mut input = format!(
            "POST /up HTTP/1.1\r\nhost: a\r\ncontent-length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        input.extend_from_slice(&body);
        let ok = get(10);
        input.extend_from_slice(&ok);
        let passed = input.clone();
        input.extend_from_slice(&get(100 * 1024));
        for chunk in [5, 4096, 1 << 20] {
            let (seen, answered) = run(input.clone(), chunk).await;
            // hyper may have been given the start of the refused request's
            // line (never a whole head) before the refusal.
            assert!(seen.starts_with(&passed), "chunk {chunk}");
            assert!(
                seen.len() <= passed.len() + MAX_REQUEST_LINE,
                "chunk {chunk}"
            );
            assert!(!seen[passed.len()..].contains(&b'\n'), "chunk {chunk}");
            assert!(answered.starts_with(b"HTTP/1.1 414 "), "chunk {chunk}");
        }
        // Without the long line, everything passes and nothing is answered.
        let (seen, answered) = run(passed.clone(), 333).await;
        assert!(seen == passed);
        assert!(answered.is_empty());
    }

    #[tokio::test]
    async fn a_chunked_body_ends_the_watch() {
        let mut input =
            b"POST /up HTTP/1.1\r\nhost: a\r\ntransfer-encoding: chunked\r\n\r\n".to_vec();
        input.extend_from_slice(format!("{:x}\r\n", 40_000).as_bytes());
        input.extend_from_slice(&vec![b'y'; 40_000]);
        input.extend_from_slice(b"\r\n0\r\n\r\n");
        let (seen, answered) = run(input.clone(), 1000).await;
        assert!(seen == input);
        assert!(answered.is_empty());
    }
}
