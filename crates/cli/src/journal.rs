//! `sfn journal check DIR` and `sfn journal salvage DIR NEW_DIR`: what the journal of a `--state-dir` holds
//! and what of it is damaged, and a copy of every intact record into a new state directory.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use sfn_server::RecordCounts;

#[derive(Debug, Args)]
pub(crate) struct JournalArgs {
    #[command(subcommand)]
    command: JournalCommand,
}

#[derive(Debug, Subcommand)]
enum JournalCommand {
    /// Check a state directory's journal as `sfn serve` does when it opens it (exit 0 intact, 1 damaged).
    Check {
        /// The state directory (what `sfn serve --state-dir` was given).
        dir: PathBuf,
    },
    /// Copy every intact record of DIR's journal into a new state directory (exit 0 when nothing was
    /// skipped, 1 when something was); DIR is left as it is.
    Salvage {
        /// The state directory holding the damaged journal.
        dir: PathBuf,
        /// A new (or empty) directory for the copy; serve it with `sfn serve --state-dir NEW_DIR`.
        new_dir: PathBuf,
    },
}

fn counts(c: &RecordCounts) -> String {
    format!(
        "{} state machine(s), {} version(s), {} execution(s), {} event(s)",
        c.machines, c.versions, c.executions, c.events
    )
}

pub(crate) fn run(args: &JournalArgs) -> anyhow::Result<i32> {
    match &args.command {
        JournalCommand::Check { dir } => {
            let c = sfn_server::check_journal(dir)?;
            let format = c.format.map(|f| format!(" (format {f})")).unwrap_or_default();
            if c.intact() {
                outln!("{}: intact{format}: {}", c.path.display(), counts(&c.counts));
                if c.format == Some(1) {
                    outln!(
                        "written before records carried checksums; `sfn serve` seals it in place when it opens it"
                    );
                }
                return Ok(0);
            }
            outln!("{}: damaged{format}: {} problem(s)", c.path.display(), c.problems.len());
            for p in &c.problems {
                outln!("  {p}");
            }
            if c.format.is_some() {
                outln!("intact: {}", counts(&c.counts));
            } else {
                outln!(
                    "its records cannot be read through redb (salvage looks for them in the file's raw bytes)"
                );
            }
            outln!(
                "`sfn serve` refuses it; `sfn journal salvage {} NEW_DIR` copies every intact record into a new state directory",
                dir.display()
            );
            Ok(1)
        }
        JournalCommand::Salvage { dir, new_dir } => {
            let r = sfn_server::salvage_journal(dir, new_dir)?;
            outln!("salvaged {} into {}: {}", r.source.display(), r.target.display(), counts(&r.copied));
            for n in &r.notes {
                outln!("note: {n}");
            }
            for s in &r.skipped {
                outln!("skipped: {s}");
            }
            outln!("serve it with: sfn serve --state-dir {}", new_dir.display());
            Ok(if r.skipped.is_empty() { 0 } else { 1 })
        }
    }
}
