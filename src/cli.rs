//! Command-line definitions (clap), nothing else.

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "stackprov",
    version,
    about = "Turn bare hosts into an OpenStack controller from one YAML site file, over SSH."
)]
pub struct Cli {
    /// More logging on stderr (-v: info, -vv: debug); secrets are masked there
    /// too. Plans then also list what needs nothing, and why.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human, global = true)]
    pub format: Format,
    /// Hosts worked on at once (default: the site's `forks`, else 32).
    #[arg(long, global = true, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub forks: Option<u16>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a site file; print every problem with FILE:LINE:COL.
    Validate { site: PathBuf },
    /// Gather and print what the planner knows about each host.
    Facts {
        site: PathBuf,
        /// Only this host.
        #[arg(long)]
        host: Option<String>,
        /// Save the facts (secrets as placeholders) for `plan --facts`.
        #[arg(long)]
        save: Option<PathBuf>,
    },
    /// Show what apply would change, as diffs.
    Plan {
        site: PathBuf,
        /// Plan offline from facts saved by `stackprov facts --save`.
        #[arg(long)]
        facts: Option<PathBuf>,
        /// Save the plan for `stackprov apply PLAN.json`.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Exit 2 when changes are pending, 0 when none (1 on errors).
        #[arg(long)]
        detailed_exitcode: bool,
        #[arg(long)]
        host: Option<String>,
        /// After an outage of an HA site's Galera cluster that one controller
        /// did not come back from: start the cluster again from this reachable
        /// controller (it must hold the highest seqno known; plan tells which).
        #[arg(long, value_name = "HOST")]
        galera_bootstrap: Option<String>,
    },
    /// Plan, confirm, then execute exactly the plan's operations.
    Apply {
        /// A site file, or a plan saved with `plan --out` (applied only if the hosts still match its facts).
        target: PathBuf,
        /// The site file a saved plan belongs to (default: the one recorded in the plan).
        #[arg(long)]
        site: Option<PathBuf>,
        #[arg(long)]
        host: Option<String>,
        /// Do not ask for confirmation.
        #[arg(short = 'y', long = "yes")]
        yes: bool,
        /// After an outage of an HA site's Galera cluster that one controller
        /// did not come back from: start the cluster again from this reachable
        /// controller (it must hold the highest seqno known; plan tells which).
        #[arg(long, value_name = "HOST")]
        galera_bootstrap: Option<String>,
    },
    /// Prove the controller works: token, users, image upload, active, list, delete.
    Verify {
        site: PathBuf,
        #[arg(long)]
        host: Option<String>,
        /// Then run OpenStack's own API tests (Tempest's identity v3 and image
        /// v2 tests), installing the OS's Tempest package on the host; the
        /// workspace stays in /var/lib/stackprov/tempest there.
        #[arg(long)]
        tempest: bool,
        /// Tempest's test workers.
        #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=32), requires = "tempest")]
        tempest_concurrency: u32,
        /// Run Tempest on this host of the site (default: the controller verified).
        #[arg(long, requires = "tempest")]
        tempest_host: Option<String>,
    },
    /// Print the site file's JSON Schema (for editor completion).
    Schema,
    /// Print shell completions.
    Completions { shell: clap_complete::Shell },
}
