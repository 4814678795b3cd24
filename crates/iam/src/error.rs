//! Errors of the task-definition loader and of the options.

use std::path::PathBuf;

/// A task definition file that could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
#[error("{path}: {kind}", path = path.display())]
pub struct LoadError {
    path: PathBuf,
    #[source]
    kind: LoadErrorKind,
}

/// What went wrong with a task definition file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadErrorKind {
    /// The file or directory could not be read.
    #[error("cannot read: {0}")]
    Io(#[from] std::io::Error),
    /// The file is not a task definition (`register-task-definition --cli-input-json` form).
    #[error("not a task definition: {0}")]
    Json(#[from] serde_json::Error),
}

impl LoadError {
    pub(crate) fn new(path: impl Into<PathBuf>, kind: impl Into<LoadErrorKind>) -> LoadError {
        LoadError { path: path.into(), kind: kind.into() }
    }

    /// The file (or directory) concerned.
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// What went wrong.
    pub fn kind(&self) -> &LoadErrorKind {
        &self.kind
    }
}

/// Options that would make malformed ARNs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OptionsError {
    /// Not a partition (`aws`, `aws-cn`, `aws-us-gov`, …).
    #[error("partition \"{0}\": expected aws, aws-cn, aws-us-gov or another aws-… partition")]
    Partition(String),
    /// Not a region code (`us-east-1`).
    #[error("region \"{0}\": expected a region code such as us-east-1")]
    Region(String),
    /// Not a 12-digit account id.
    #[error("account \"{0}\": expected a 12-digit account id")]
    Account(String),
}
