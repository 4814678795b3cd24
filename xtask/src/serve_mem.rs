//! `cargo xtask bench`'s server memory figure: what `sfn serve` keeps for each finished execution.
//!
//! Starts the release `sfn serve --ecs sim` on a free loopback port, creates a one-Pass machine, runs a
//! warm-up, reads the server's resident memory, runs `N` more executions to completion, and prints
//! `bench serve-memory: executions=<N> retained_kib_per_execution=<K> rss_mib=<M> starts_per_s=<S>`.
//! The HTTP client is a few lines of std (one keep-alive connection, `Content-Length` bodies), which keeps
//! this crate free of an HTTP stack.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

/// One keep-alive connection speaking awsJson1_0 to the server.
struct Client {
    stream: BufReader<TcpStream>,
    host: String,
}

impl Client {
    fn connect(addr: &str) -> Result<Client> {
        let stream = TcpStream::connect(addr).with_context(|| format!("cannot connect to {addr}"))?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        stream.set_nodelay(true)?;
        Ok(Client { stream: BufReader::new(stream), host: addr.to_owned() })
    }

    fn call(&mut self, op: &str, body: &Value) -> Result<Value> {
        let body = serde_json::to_vec(body)?;
        let head = format!(
            "POST / HTTP/1.1\r\nHost: {}\r\nX-Amz-Target: AWSStepFunctions.{op}\r\n\
             Content-Type: application/x-amz-json-1.0\r\nContent-Length: {}\r\n\r\n",
            self.host,
            body.len()
        );
        // One write: head and body in two segments would meet Nagle's algorithm and a delayed ACK (40 ms).
        let mut request = head.into_bytes();
        request.extend_from_slice(&body);
        self.stream.get_mut().write_all(&request)?;
        let mut status = String::new();
        self.stream.read_line(&mut status)?;
        let mut length = None;
        loop {
            let mut line = String::new();
            self.stream.read_line(&mut line)?;
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                length = Some(v.trim().parse::<usize>()?);
            }
        }
        let mut buf = vec![0; length.context("response without Content-Length")?];
        self.stream.read_exact(&mut buf)?;
        let v: Value = serde_json::from_slice(&buf).unwrap_or(Value::Null);
        if !status.contains(" 200 ") {
            bail!("{op}: {} {v}", status.trim());
        }
        Ok(v)
    }
}

/// Resident set size of a process, in KiB (Linux `/proc`).
fn rss_kib(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).context("no VmRSS")?;
    Ok(line.split_whitespace().nth(1).context("VmRSS")?.parse()?)
}

/// Starts `sfn serve` and returns it with the address it printed.
fn start_server() -> Result<(Child, String)> {
    let mut child = Command::new(super::bench::sfn())
        .args(["serve", "--listen", "127.0.0.1:0", "--ecs", "sim"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot start sfn serve")?;
    let stderr = child.stderr.take().context("no stderr")?;
    let mut lines = BufReader::new(stderr).lines();
    let addr = loop {
        let Some(line) = lines.next() else { bail!("sfn serve ended before it listened") };
        let line = line?;
        if let Some(rest) = line.split("http://").nth(1) {
            break rest.split_whitespace().next().unwrap_or_default().to_owned();
        }
    };
    // Keep draining the server's log so it never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    Ok((child, addr))
}

/// Runs `n` executions through `client`, waits for the last one to finish, and returns the wall time.
fn executions(client: &mut Client, machine: &str, n: usize) -> Result<f64> {
    let t0 = Instant::now();
    let mut last = String::new();
    for _ in 0..n {
        let r = client.call("StartExecution", &json!({"stateMachineArn": machine, "input": "{\"n\":1}"}))?;
        last = r["executionArn"].as_str().unwrap_or_default().to_owned();
    }
    let wall = t0.elapsed().as_secs_f64();
    loop {
        let d = client.call("DescribeExecution", &json!({"executionArn": last}))?;
        if d["status"] != "RUNNING" {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(wall)
}

/// The benchmark; `n` finished executions after the warm-up.
pub(crate) fn run(n: usize) -> Result<()> {
    let (mut child, addr) = start_server()?;
    let result = (|| {
        let mut client = Client::connect(&addr)?;
        let definition =
            json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"ok": true}, "End": true}}});
        let created = client.call(
            "CreateStateMachine",
            &json!({
                "name": "serve-memory",
                "definition": definition.to_string(),
                "roleArn": "arn:aws:iam::123456789012:role/bench",
            }),
        )?;
        let machine = created["stateMachineArn"].as_str().context("no stateMachineArn")?.to_owned();
        executions(&mut client, &machine, 200)?;
        std::thread::sleep(Duration::from_millis(200));
        let before = rss_kib(child.id())?;
        let wall = executions(&mut client, &machine, n)?;
        std::thread::sleep(Duration::from_millis(200));
        let after = rss_kib(child.id())?;
        println!(
            "bench serve-memory: executions={n} retained_kib_per_execution={:.1} rss_mib={:.0} starts_per_s={:.0}",
            after.saturating_sub(before) as f64 / n as f64,
            after as f64 / 1024.0,
            n as f64 / wall
        );
        Ok(())
    })();
    let _ = child.kill();
    let _ = child.wait();
    result
}
