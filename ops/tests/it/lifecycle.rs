//! Stopping `hoso serve` (issue 17): SIGTERM, what service managers send, stops it
//! as gracefully as Ctrl-C — the request in flight finishes and is answered, then the
//! shutdown tree head is signed, then the read model's write-ahead log is emptied
//! into its file — and the process exits 0.

use crate::support;
use crate::support::api::{Client, HEALTH};

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ISSUED: &str = "Mot-Lan#2026!Kh";
const CHOSEN: &str = "Cua-Toi#2026!y";

/// Reads from `conn` until the end of a head (`\r\n\r\n`); the head as text.
async fn read_head(conn: &mut tokio::net::TcpStream) -> String {
    let mut got = Vec::new();
    let mut byte = [0u8; 1];
    while !got.ends_with(b"\r\n\r\n") {
        let n = conn.read(&mut byte).await.unwrap();
        assert!(n > 0, "closed after {:?}", String::from_utf8_lossy(&got));
        got.push(byte[0]);
    }
    String::from_utf8(got).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_the_request_in_flight_finish_signs_the_shutdown_head_and_checkpoints() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("d");
    support::init(&data, ISSUED);
    let mut served = support::serve(&data);
    let api = Client::conforming(served.base.clone()).await;
    let admin = api.first_login("snv.admin", ISSUED, CHOSEN).await;
    api.health_department(&admin).await;

    // A write whose body is still coming when the signal arrives. `Expect:
    // 100-continue` makes the server say when the handler has the request and waits
    // for its body, so the signal surely finds it in flight.
    let body = serde_json::to_vec(&json!({"kind": "specialist", "username": "dang.bay",
        "org_code": HEALTH, "display_name": "Đang Bay"}))
    .unwrap();
    let addr = served.base.trim_start_matches("http://").to_owned();
    let mut conn = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /api/v1/accounts HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {admin}\r\n\
         content-type: application/json\r\ncontent-length: {}\r\nexpect: 100-continue\r\n\
         connection: close\r\n\r\n",
        body.len()
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    let cont = read_head(&mut conn).await;
    assert!(cont.starts_with("HTTP/1.1 100"), "{cont}");

    let pid = served.child.id().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    while !served
        .lines
        .lock()
        .unwrap()
        .iter()
        .any(|l| l.contains("stopping (SIGTERM)"))
    {
        assert!(Instant::now() < deadline, "the server never said it stops");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // The rest of the body, after the signal: the request is still served.
    conn.write_all(&body).await.unwrap();
    let mut answer = Vec::new();
    conn.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8(answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    let (_, json_body) = answer.split_once("\r\n\r\n").unwrap();
    let receipt: Value = serde_json::from_str(json_body).unwrap();

    let status = served.child.wait().unwrap();
    assert!(status.success(), "{status}");
    std::thread::sleep(Duration::from_millis(50));
    let out = served.lines.lock().unwrap().join("\n");
    let signed = out.find("signed the shutdown tree head").expect(&out);
    let checkpointed = out.find("checkpointed the read model").expect(&out);
    assert!(signed < checkpointed, "{out}");

    // The shutdown head is on disk and covers the write answered after the signal
    // (and, one past it, the head's own event).
    let head: Value =
        serde_json::from_slice(&std::fs::read(data.join("tree-head.json")).unwrap()).unwrap();
    assert_eq!(head["reason"], "shutdown", "{head}");
    assert!(
        head["tree_size"].as_u64().unwrap() > receipt["position"].as_u64().unwrap(),
        "{head} {receipt}"
    );
    // The read model's write-ahead log was emptied into its file.
    let wal = data.join("readmodel.db-wal");
    assert!(
        !wal.exists() || std::fs::metadata(&wal).unwrap().len() == 0,
        "{} bytes left in {}",
        std::fs::metadata(&wal).unwrap().len(),
        wal.display()
    );

    // The next start trusts what the stop left (a shutdown head, then exactly its
    // own event): ready.
    let again = support::serve(&data);
    let api = Client::conforming(again.base.clone()).await;
    let ready = api.call("GET", "/readyz", None, None).await;
    assert_eq!(ready.status, reqwest::StatusCode::OK, "{}", ready.body);
}
