//! `sfn graph DEF [--format mermaid|dot|svg]`

use std::path::PathBuf;

use clap::{Args, ValueEnum};

/// Diagram language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum GraphFormat {
    /// A Mermaid flowchart (renders in GitHub Markdown).
    Mermaid,
    /// Graphviz DOT (`dot -Tsvg`).
    Dot,
    /// A laid-out SVG document, the graph `sfn serve`'s console draws (no statuses: every state white).
    Svg,
}

/// Arguments of `sfn graph`.
#[derive(Debug, Args)]
pub(crate) struct GraphArgs {
    /// The state machine definition.
    pub(crate) definition: PathBuf,
    /// Diagram language.
    #[arg(long, value_enum, default_value = "mermaid")]
    pub(crate) format: GraphFormat,
}

/// Prints the diagram; exit 2 when the definition cannot be read or is invalid.
pub(crate) fn run(args: &GraphArgs) -> anyhow::Result<i32> {
    let machine = match crate::load_definition(&args.definition, crate::Load::default()) {
        Ok(m) => m,
        Err(code) => return Ok(code),
    };
    let text = match args.format {
        GraphFormat::Mermaid => sfn::graph::mermaid(&machine),
        GraphFormat::Dot => sfn::graph::dot(&machine),
        GraphFormat::Svg => sfn::graph::svg(&machine, &|_| None),
    };
    out!("{text}");
    Ok(0)
}
