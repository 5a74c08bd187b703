//! HTTPS through an HTTP CONNECT proxy (a minimal one on loopback that counts its tunnels).

mod logon_support;

use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;

use aa_logon::{Client, LogonStatus, Secret};
use aa_sim::demo;
use logon_support::{config, simulator};

/// Accepts CONNECT requests and pipes bytes both ways; returns its URL and a tunnel counter.
fn connect_proxy() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let tunnels = Arc::new(AtomicUsize::new(0));
    let counter = tunnels.clone();
    thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let counter = counter.clone();
            thread::spawn(move || tunnel(client, &counter));
        }
    });
    (url, tunnels)
}

fn tunnel(client: TcpStream, tunnels: &AtomicUsize) {
    let mut reader = BufReader::new(client.try_clone().unwrap());
    let mut request_line = String::new();
    reader.read_line(&mut request_line).unwrap();
    let target = request_line.split_whitespace().nth(1).unwrap().to_owned();
    assert!(request_line.starts_with("CONNECT "), "{request_line}");
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        if line == "\r\n" {
            break;
        }
    }
    let server = TcpStream::connect(target).unwrap();
    tunnels.fetch_add(1, Ordering::SeqCst);
    let mut client_writer = client.try_clone().unwrap();
    client_writer.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n").unwrap();
    let mut server_reader = server.try_clone().unwrap();
    let mut server_writer = server;
    let upstream = thread::spawn(move || {
        let _ = std::io::copy(&mut reader, &mut server_writer);
        let _ = server_writer.shutdown(Shutdown::Write);
    });
    let _ = std::io::copy(&mut server_reader, &mut client_writer);
    let _ = client_writer.shutdown(Shutdown::Write);
    let _ = upstream.join();
}

#[test]
fn logons_go_through_the_configured_proxy() {
    let sim = simulator();
    let (proxy_url, tunnels) = connect_proxy();
    let mut config = config(&sim);
    config.proxy = Some(proxy_url);
    let client = Client::new(config).unwrap();
    for _ in 0..3 {
        let mut logon = client.start_logon(demo::USER, demo::EVENT, "PASSWORD:1").unwrap();
        assert_eq!(logon.answer(Secret::from(demo::PASSWORD)).unwrap().status, LogonStatus::Ok);
    }
    assert_eq!(tunnels.load(Ordering::SeqCst), 1, "one tunnel, kept alive for every call");
    assert_eq!(sim.stats().connections_accepted, 1);
}
