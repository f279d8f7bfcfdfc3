//! The plan is data: per host, the changes with their reasons, diffs and the
//! exact operations `apply` will perform. `apply` obeys only this.

use crate::ini::IniSetting;
pub mod catalog;

use crate::model::Perms;
use catalog::{Admin, Call};
use serde::{Deserialize, Serialize};

/// Bumped when the saved plan format changes; `apply PLAN` refuses others.
/// 2: a saved plan holds its hosts' facts (`facts::saved::SavedPlan`).
pub const PLAN_FORMAT: u32 = 2;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub format: u32,
    pub site: String,
    /// The site file the plan was made from.
    pub site_file: String,
    pub release: String,
    pub hosts: Vec<HostPlan>,
    /// Hosts of the site that could not be planned (unreachable, or failed
    /// while their facts were read): in the plan so that no host goes missing
    /// from it unnoticed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unplanned: Vec<Unplanned>,
}

/// A host the plan has no changes for because it could not be planned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unplanned {
    pub host: String,
    /// It could not be reached (or the connection was lost).
    pub unreachable: bool,
    /// Why, secrets masked.
    pub error: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostPlan {
    pub host: String,
    /// sha256 of the facts the plan was made from; a saved plan is applied only
    /// while the host still shows the same facts.
    pub facts_digest: String,
    pub changes: Vec<Change>,
    /// The resources that need nothing, each with the reason (as Terraform's
    /// no-op): what was checked and found as desired. Plans saved before
    /// there were no-ops load with none.
    #[serde(default)]
    pub noops: Vec<NoOp>,
    /// It starts a cluster (a `starts_cluster` command runs): the site's
    /// other hosts start that service only after this change succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts_cluster: Option<ClusterStart>,
    /// What the operator should know that is no change (a degraded cluster).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// The hosts, other than those starting it, whose plans start `service`:
/// they join the cluster, so they wait for its start.
pub fn joiners<'a>(hosts: &'a [HostPlan], service: &str) -> Vec<&'a str> {
    let id = ClusterStart::service_change(service);
    hosts
        .iter()
        .filter(|h| h.starts_cluster.is_none() && h.changes.iter().any(|c| c.id == id))
        .map(|h| h.host.as_str())
        .collect()
}

/// The change that starts a cluster, and the service it starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterStart {
    pub change: String,
    pub service: String,
}

impl ClusterStart {
    /// The id of the change that starts `service` on a host (a joiner's join).
    pub fn service_change(service: &str) -> String {
        format!("service:{service}")
    }
}

/// A resource the host already matches: nothing to do, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoOp {
    pub id: String,
    pub role: String,
    /// What matches, e.g. `installed: keystone` or `enabled and running`.
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Update,
    Run,
}

impl Action {
    pub fn symbol(self) -> char {
        match self {
            Action::Create => '+',
            Action::Update => '~',
            Action::Run => '!',
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub id: String,
    pub role: String,
    pub action: Action,
    pub reason: String,
    /// A unified diff with secrets masked, for files.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub diff: Option<String>,
    pub ops: Vec<Op>,
}

/// One step on the host. Text fields hold `((secret:..))` placeholders, never values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    /// Run a script (never holding secrets); `stdin` may hold placeholders.
    Exec {
        script: String,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        stdin: Option<String>,
        timeout_secs: u64,
    },
    /// Write a whole file atomically.
    Write {
        path: String,
        perms: Perms,
        content: String,
    },
    /// Read a file, set keys, write it back atomically if it changed.
    IniEdit {
        path: String,
        perms: Perms,
        settings: Vec<IniSetting>,
    },
    /// Read-only: which process holds this lock file (another package manager
    /// at work, e.g. an install left running by a killed run). The step after
    /// it waits for that lock; apply says who it waits for.
    LockHolder { path: String },
    /// A Keystone API call through the tunnel, as `admin` (password by reference).
    Keystone {
        admin: Admin,
        #[serde(flatten)]
        call: Call,
    },
}

impl Plan {
    pub fn change_count(&self) -> usize {
        self.hosts.iter().map(|h| h.changes.len()).sum()
    }
}

impl Op {
    /// A one-line description for reports (no content, no secrets).
    pub fn summary(&self) -> String {
        match self {
            Op::Exec { script, .. } => script.lines().next().unwrap_or_default().to_string(),
            Op::Write { path, perms, .. } => format!(
                "write {path} ({}:{} {:04o})",
                perms.owner, perms.group, perms.mode
            ),
            Op::IniEdit { path, settings, .. } => format!("set {} keys in {path}", settings.len()),
            Op::Keystone { admin, call } => call.summary_for(admin),
            Op::LockHolder { path } => format!("who holds {path}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noops_are_saved_and_plans_from_before_them_still_load() {
        let old = r#"{"host":"controller","facts_digest":"ab12","changes":[]}"#;
        let h: HostPlan = serde_json::from_str(old).unwrap();
        assert!(h.noops.is_empty());
        let h = HostPlan {
            noops: vec![NoOp {
                id: "service:chronyd".into(),
                role: "base".into(),
                reason: "enabled and running".into(),
            }],
            ..h
        };
        let json = serde_json::to_string(&h).unwrap();
        assert_eq!(
            json,
            r#"{"host":"controller","facts_digest":"ab12","changes":[],"noops":[{"id":"service:chronyd","role":"base","reason":"enabled and running"}]}"#
        );
        assert_eq!(serde_json::from_str::<HostPlan>(&json).unwrap(), h);
    }
}
