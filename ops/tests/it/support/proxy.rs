//! A man in the middle of the sync feed, for the consumer's tests: what the
//! national database would receive if a byte changed on the way.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// What the proxy does to batch 1's bytes as served.
pub type Tamper = fn(&mut [u8]);

/// A proxy in front of a node that passes requests on, applies `tamper` to
/// every page of batch 1 it answers, and counts the acknowledgements it
/// passes on (one connection per request).
pub async fn tampering_proxy(upstream: String, tamper: Tamper) -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let acks = Arc::new(AtomicUsize::new(0));
    let counted = acks.clone();
    tokio::spawn(async move {
        let http = reqwest::Client::new();
        loop {
            let (mut sock, _) = listener.accept().await.unwrap();
            let mut buf = Vec::new();
            let mut chunk = [0u8; 8192];
            let end = loop {
                let n = sock.read(&mut chunk).await.unwrap();
                if n == 0 {
                    break None;
                }
                buf.extend_from_slice(&chunk[..n]);
                if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    break Some(i + 4);
                }
            };
            let Some(end) = end else { continue };
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            let mut lines = head.lines();
            let mut first = lines.next().unwrap().split(' ');
            let (method, path) = (first.next().unwrap(), first.next().unwrap());
            let mut length = 0;
            let mut auth = None;
            for l in lines {
                if let Some((k, v)) = l.split_once(':') {
                    match k.to_ascii_lowercase().as_str() {
                        "content-length" => length = v.trim().parse().unwrap(),
                        "authorization" => auth = Some(v.trim().to_owned()),
                        _ => {}
                    }
                }
            }
            while buf.len() < end + length {
                let n = sock.read(&mut chunk).await.unwrap();
                buf.extend_from_slice(&chunk[..n]);
            }
            let body = buf[end..end + length].to_vec();
            if path.ends_with("/ack") {
                counted.fetch_add(1, Ordering::SeqCst);
            }
            let mut forward = http
                .request(method.parse().unwrap(), format!("{upstream}{path}"))
                .header("content-type", "application/json")
                .body(body);
            if let Some(auth) = auth {
                forward = forward.header("authorization", auth);
            }
            let r = forward.send().await.unwrap();
            let status = r.status().as_u16();
            let mut bytes = r.bytes().await.unwrap().to_vec();
            if path.split('?').next() == Some("/api/v1/sync/batches/1") {
                tamper(&mut bytes);
            }
            let answer = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                bytes.len()
            );
            sock.write_all(answer.as_bytes()).await.unwrap();
            sock.write_all(&bytes).await.unwrap();
            sock.shutdown().await.unwrap();
        }
    });
    (url, acks)
}
