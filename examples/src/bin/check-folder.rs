//! `check-folder DIR [OUT_DIR]`: validates every `*.asl.json` in DIR and writes each one's least-privilege
//! execution-role policy to `OUT_DIR/<name>.policy.json` (prints them without OUT_DIR). Exits 1 when a
//! definition is invalid. Region and account come from `AWS_REGION` and `AWS_ACCOUNT_ID` (defaults
//! `us-east-1`, `123456789012`).
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a command-line script: its report is its output"
)]

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> anyhow::Result<ExitCode> {
    let mut args = std::env::args_os().skip(1);
    let Some(dir) = args.next().map(PathBuf::from) else {
        eprintln!("usage: check-folder DIR [OUT_DIR]");
        return Ok(ExitCode::from(2));
    };
    let out_dir = args.next().map(PathBuf::from);
    let region = std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into());
    let account = std::env::var("AWS_ACCOUNT_ID").unwrap_or_else(|_| "123456789012".into());
    let report = sfn_examples::check_folder(&dir, &region, &account)?;
    let mut invalid = 0;
    for c in &report {
        let name = c.file.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let status = if c.errors.is_empty() { "valid" } else { "INVALID" };
        eprintln!("{name}: {status}");
        for line in c.errors.iter().chain(&c.warnings).chain(&c.policy_warnings) {
            eprintln!("  {line}");
        }
        invalid += usize::from(!c.errors.is_empty());
        if let Some(policy) = &c.policy {
            match &out_dir {
                Some(out) => {
                    std::fs::create_dir_all(out)?;
                    let stem = name.trim_end_matches(".asl.json");
                    std::fs::write(out.join(format!("{stem}.policy.json")), format!("{policy}\n"))?;
                }
                None => println!("{policy}"),
            }
        }
    }
    eprintln!("{} definitions, {invalid} invalid", report.len());
    Ok(if invalid == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
