//! `omni-mesh store`: inspect a node's persistent state (epoch, durable histories, delivery
//! cursors) without the node running (a store is open in one process at a time).

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Subcommand;
use mesh_core::identity::{Did, PublicKey};
use mesh_core::store::{Store, StoreStats};

/// `omni-mesh store ...`
#[derive(Subcommand)]
pub enum StoreCommand {
    /// Sizes, epoch, durable histories (per topic id), delivery cursors and DTN bundles in
    /// custody of a store.
    Stats {
        /// The store file (a node's `<name>.redb`).
        path: PathBuf,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// Runs a store command.
pub fn run(cmd: StoreCommand) -> anyhow::Result<()> {
    match cmd {
        StoreCommand::Stats { path, json } => {
            if !path.exists() {
                anyhow::bail!("no store at {}", path.display());
            }
            let store = Store::open(&path)?;
            let stats = store
                .stats()
                .with_context(|| format!("reading {}", path.display()))?;
            print!(
                "{}",
                if json {
                    to_json(&stats)
                } else {
                    to_table(&path, &stats)
                }
            );
            Ok(())
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn did(key: &[u8; 32]) -> String {
    PublicKey::from_bytes(*key).map_or_else(|_| hex(key), |k| Did::from(k).to_string())
}

fn to_table(path: &std::path::Path, s: &StoreStats) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "store    {}", path.display());
    let _ = writeln!(out, "size     {} bytes", s.file_bytes);
    let _ = writeln!(out, "epoch    {}", s.epoch);
    let _ = writeln!(out, "app      {} entries", s.app_entries);
    let _ = writeln!(
        out,
        "dtn      {} bundles in custody, {} bytes",
        s.bundles.0, s.bundles.1
    );
    let _ = writeln!(out, "\ndurable history ({} topics)", s.history.len());
    if !s.history.is_empty() {
        let _ = writeln!(
            out,
            "  {:<34} {:>10} {:>12} {:>12}",
            "topic id", "messages", "bytes", "last seq"
        );
    }
    for (topic, messages, bytes, last) in &s.history {
        let _ = writeln!(
            out,
            "  {:<34} {messages:>10} {bytes:>12} {last:>12}",
            hex(&topic.0)
        );
    }
    let _ = writeln!(out, "\ndelivery cursors ({})", s.cursors.len());
    for (sub, publisher, topic, seq) in &s.cursors {
        let _ = writeln!(
            out,
            "  {sub}  topic {}  publisher {}  processed up to {seq}",
            hex(&topic.0),
            did(publisher)
        );
    }
    out
}

fn to_json(s: &StoreStats) -> String {
    let history: Vec<serde_json::Value> = s
        .history
        .iter()
        .map(|(t, m, b, l)| {
            serde_json::json!({"topic_id": hex(&t.0), "messages": m, "bytes": b, "last_sequence": l})
        })
        .collect();
    let cursors: Vec<serde_json::Value> = s
        .cursors
        .iter()
        .map(|(sub, p, t, seq)| {
            serde_json::json!({"subscription": sub, "publisher": did(p), "topic_id": hex(&t.0), "sequence": seq})
        })
        .collect();
    let v = serde_json::json!({
        "file_bytes": s.file_bytes,
        "epoch": s.epoch,
        "app_entries": s.app_entries,
        "dtn_bundles": s.bundles.0,
        "dtn_bytes": s.bundles.1,
        "history": history,
        "cursors": cursors,
    });
    format!("{v:#}\n")
}
