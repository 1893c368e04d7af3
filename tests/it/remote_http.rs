//! A read-only `http(s)://` remote: a folder remote served by a static file
//! server, which can neither list nor (here) serve ranges, is fetched from
//! through the `index.list` that pushes keep, and cannot be pushed to.

use crate::common;

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::data::{assert_same_tree, data_and_model, dataset};
use common::{assert_error_report, TestRepo};

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `python3 -m http.server` over `dir`, on a free port.
fn serve(dir: &std::path::Path) -> (Server, String) {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("python3")
        .args([
            "-m",
            "http.server",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
        ])
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 runs a static file server");
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "server did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    (Server(child), format!("http://127.0.0.1:{port}"))
}

#[test]
fn a_folder_remote_served_over_http_can_be_pulled_from_but_not_pushed_to() {
    let a = TestRepo::builder()
        .folder_remote("origin", "remote-store")
        .tree(&dataset(1))
        .commit("v1")
        .push()
        .build();
    let store = a.remote_dir("origin");
    assert!(store.join("index.list").is_file(), "pushes keep index.list");

    let (_server, url) = serve(&store);
    let b = TestRepo::clone_of(&a);
    b.cairn_ok(&["remote", "add", "web", &url]);
    b.cairn_ok(&["pull", "-r", "web"]);
    assert_same_tree(&data_and_model(&b), &dataset(1), "pulled over http");
    b.cairn_ok(&["verify", "--remote", "web"]);

    b.write("extra.txt", "new");
    b.cairn_ok(&["add", "extra.txt"]);
    let (_, stderr) = b.cairn_fail(&["push", "-r", "web"]);
    assert_error_report(&stderr, &["read-only"]);
}
