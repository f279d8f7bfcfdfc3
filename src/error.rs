//! What a command ends with: a [`Status`] when it ran (hosts may still have
//! failed), an [`Error`] when it could not. [`exit_code`] is the one place
//! that turns either into the process's exit code.

use crate::model::diagnostic::Diagnostic;
use std::path::PathBuf;

pub const EXIT_OK: i32 = 0;
pub const EXIT_ERROR: i32 = 1;
pub const EXIT_CHANGES: i32 = 2;
/// As Ansible: some host could not be reached.
pub const EXIT_UNREACHABLE: i32 = 4;
/// Interrupted (Ctrl-C) before every planned change ran: 128 + SIGINT, as shells report it.
pub const EXIT_INTERRUPTED: i32 = 130;

/// How a command that ran went, worst last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    Success,
    /// `plan --detailed-exitcode` found changes to make.
    ChangesPending,
    /// Ctrl-C stopped `apply` before every change ran.
    Interrupted,
    /// A host failed, a check failed, or the operator said no.
    Failed,
    /// A host could not be reached (or was lost on the way).
    Unreachable,
}

impl Status {
    /// The worse of two outcomes: an unreachable host outweighs a failed one,
    /// which outweighs an interruption, which outweighs pending changes.
    pub fn and(self, other: Status) -> Status {
        self.max(other)
    }
}

/// Why one host dropped out of the pipeline.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostError {
    #[error("{0}")]
    Transport(#[from] crate::transport::TransportError),
    #[error("{0}")]
    Api(#[from] crate::openstack::error::ApiError),
    #[error("{0}")]
    Desired(#[from] crate::desired::DesiredError),
    #[error("{0}")]
    Facts(#[from] crate::facts::FactsError),
    #[error("{0}")]
    Plan(#[from] crate::planner::PlanError),
    #[error("{0}")]
    Secret(#[from] crate::secrets::PlaceholderError),
}

/// Why a command could not do its work.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The site file (every problem found, with file:line:col).
    #[error("{} error(s) in the site file", .0.len())]
    Site(Vec<Diagnostic>),
    /// The secrets file cannot be read.
    #[error("{0}")]
    SecretsFile(Box<Diagnostic>),
    /// Nor generated into, nor saved.
    #[error("{0}")]
    SecretsStore(#[from] crate::secrets::StoreError),
    /// A secret in `file` that cannot go where the roles put it.
    #[error("{}: {source}", file.display())]
    Unencodable {
        file: PathBuf,
        source: crate::planner::PlanError,
    },
    #[error("no host `{name}` in {}; {hint}", site.display())]
    NoSuchHost {
        name: String,
        site: PathBuf,
        hint: String,
    },
    #[error("no controller to verify in {} (no host with role `{role}`)", site.display())]
    NothingToVerify { site: PathBuf, role: String },
    #[error("host `{0}`: its roles declare no keystone_api")]
    NoKeystoneApi(String),
    /// A file from `facts --save` or `plan --out` that cannot be used (the
    /// message names it).
    #[error("{message}")]
    SavedFile { path: PathBuf, message: String },
    #[error(
        "host `{host}` has changed since {} was made (its facts differ); run `stackprov plan` again", plan.display()
    )]
    StalePlan { host: String, plan: PathBuf },
    /// One host could not be planned offline (its roles, its saved facts).
    #[error("{0}")]
    Host(#[from] HostError),
    #[error("{0}")]
    Write(#[from] crate::atomic_file::WriteError),
    #[error("refusing to write over {what} {}; choose another file", path.display())]
    WouldOverwrite { path: PathBuf, what: &'static str },
    #[error(
        "refusing to apply without confirmation: no terminal to ask on; pass -y to apply non-interactively"
    )]
    NoTerminal,
    #[error("reading the answer: {0}")]
    Stdin(std::io::Error),
    /// More than one host's plan would start a new cluster: two clusters.
    #[error(
        "{} would each start a new {service} cluster, which would split it in two; nothing was changed. Start it on one of them by hand (docs/ha.md, \"After an outage\") and run stackprov again",
        hosts.join(" and ")
    )]
    TwoClusterStarts { hosts: Vec<String>, service: String },
    /// The Galera cluster cannot be started (again) as asked, or not without
    /// the operator's word; nothing was changed.
    #[error("{0}; nothing was changed (docs/ha.md, \"After an outage\")")]
    GaleraBootstrap(Box<crate::planner::bootstrap::Refusal>),
}

impl From<crate::planner::bootstrap::Refusal> for Error {
    fn from(r: crate::planner::bootstrap::Refusal) -> Self {
        Error::GaleraBootstrap(Box::new(r))
    }
}

impl Error {
    /// Every error is exit 1: the command could not do its work.
    pub fn exit_code(&self) -> i32 {
        EXIT_ERROR
    }

    /// A stable name for the JSON output.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Site(_) => "site",
            Error::SecretsFile(_) => "secrets_file",
            Error::SecretsStore(_) => "secrets_store",
            Error::Unencodable { .. } => "secrets",
            Error::NoSuchHost { .. } => "no_such_host",
            Error::NothingToVerify { .. } => "nothing_to_verify",
            Error::NoKeystoneApi(_) => "no_keystone_api",
            Error::SavedFile { .. } => "saved_file",
            Error::StalePlan { .. } => "stale_plan",
            Error::Host(_) => "host",
            Error::Write(_) => "write",
            Error::WouldOverwrite { .. } => "would_overwrite",
            Error::NoTerminal => "no_terminal",
            Error::Stdin(_) => "stdin",
            Error::TwoClusterStarts { .. } => "two_cluster_starts",
            Error::GaleraBootstrap(_) => "galera_bootstrap",
        }
    }
}

/// The exit code for a command's result.
pub fn exit_code(result: &Result<Status, Error>) -> i32 {
    match result {
        Ok(Status::Success) => EXIT_OK,
        Ok(Status::ChangesPending) => EXIT_CHANGES,
        Ok(Status::Interrupted) => EXIT_INTERRUPTED,
        Ok(Status::Failed) => EXIT_ERROR,
        Err(e) => e.exit_code(),
        Ok(Status::Unreachable) => EXIT_UNREACHABLE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worst_outcome_wins_and_maps_to_one_code() {
        let all = [
            Status::Success,
            Status::ChangesPending,
            Status::Interrupted,
            Status::Failed,
            Status::Unreachable,
        ];
        let codes: Vec<i32> = all.iter().map(|s| exit_code(&Ok(*s))).collect();
        assert_eq!(codes, vec![0, 2, 130, 1, 4]);
        assert_eq!(Status::Failed.and(Status::Unreachable), Status::Unreachable);
        assert_eq!(Status::Interrupted.and(Status::Failed), Status::Failed);
        assert_eq!(
            Status::Success.and(Status::ChangesPending),
            Status::ChangesPending
        );
        assert_eq!(exit_code(&Err(Error::NoTerminal)), 1);
    }
}
