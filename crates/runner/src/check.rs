//! Checking history files: each file read whole or shard by shard, all of
//! them in parallel, and an outcome per file (a report, or the reason it has
//! none) so that no output ever loses a file.

use checker::read::{self, ReadOptions};
use checker::shard::{self, ShardOptions};
use checker::{CheckConfig, CheckError, History, InputError, Report, Verdict};
use rayon::prelude::*;
use std::fmt;
use std::path::{Path, PathBuf};

/// `ShardMode::Auto` shards files at least this large.
pub const AUTO_SHARD_INPUT_BYTES: u64 = 256 << 20;

/// When to check a file shard by shard (see `checker::shard`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShardMode {
    /// Files of [`AUTO_SHARD_INPUT_BYTES`] or more.
    Auto,
    Off,
    /// Always, in this many shards (1 to `checker::shard::MAX_SHARDS`).
    Fixed(usize),
}

impl std::str::FromStr for ShardMode {
    type Err = String;

    /// `auto`, `off` or a number of shards (`--shards`).
    fn from_str(s: &str) -> Result<ShardMode, String> {
        match s {
            "auto" => Ok(ShardMode::Auto),
            "off" => Ok(ShardMode::Off),
            n => n
                .parse()
                .map(ShardMode::Fixed)
                .map_err(|_| format!("expected auto, off or a number of shards, found `{n}`")),
        }
    }
}

/// How to check a set of files.
#[derive(Clone, Debug)]
pub struct FilesPlan {
    pub check: CheckConfig,
    pub read: ReadOptions,
    pub shards: ShardMode,
    /// Directory for shard files; `None`: the system's temporary directory.
    pub spill_dir: Option<PathBuf>,
    /// Keep each history in memory for the HTML report. Sharding needs the
    /// opposite, so keeping histories turns `Auto` sharding off.
    pub keep_histories: bool,
}

impl FilesPlan {
    /// Refuses combinations that cannot work.
    pub fn validate(&self) -> Result<(), crate::Error> {
        match self.shards {
            ShardMode::Fixed(n) if !(1..=shard::MAX_SHARDS).contains(&n) => Err(crate::Error::Plan(format!(
                "--shards: expected auto, off or a number from 1 to {}, found `{n}`",
                shard::MAX_SHARDS
            ))),
            ShardMode::Fixed(_) if self.keep_histories => {
                Err(crate::Error::Plan("--html needs the whole history in memory; drop --shards".into()))
            }
            _ => Ok(()),
        }
    }

    /// How to shard `file`, if at all.
    fn shard_options(&self, file: &str) -> Option<ShardOptions> {
        let shards = match self.shards {
            ShardMode::Off => return None,
            ShardMode::Auto if self.keep_histories || file == "-" => return None,
            ShardMode::Fixed(n) => n,
            ShardMode::Auto => {
                let bytes = std::fs::metadata(file).ok()?.len();
                if bytes < AUTO_SHARD_INPUT_BYTES {
                    return None;
                }
                shard::shards_for(bytes)
            }
        };
        Some(ShardOptions { shards, dir: self.spill_dir.clone().unwrap_or_else(std::env::temp_dir) })
    }
}

/// Why a file has no report.
#[derive(Clone, Debug, PartialEq)]
pub enum FileError {
    /// The file could not be read as a history: names the line.
    Input(InputError),
    /// The history cannot be checked as asked (e.g. the model cannot be
    /// inferred, or a named check does not apply), or spilling failed.
    Config(String),
}

impl FileError {
    /// The 1-based line at fault, when there is one.
    pub fn line(&self) -> Option<u64> {
        match self {
            FileError::Input(e) if e.line > 0 => Some(e.line),
            _ => None,
        }
    }

    /// What is wrong, without the file name.
    pub fn message(&self, file: &str) -> String {
        match self {
            FileError::Input(e) => e.kind.to_string(),
            FileError::Config(m) => m.strip_prefix(file).and_then(|m| m.strip_prefix(": ")).unwrap_or(m).to_string(),
        }
    }
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileError::Input(e) => e.fmt(f),
            FileError::Config(m) => f.write_str(m),
        }
    }
}

/// One input file's outcome.
pub struct Checked {
    /// The file as given (`-` is standard input).
    pub file: String,
    /// The report and, when kept, the history; or why there is none.
    pub result: Result<(Report, Option<History>), FileError>,
}

impl Checked {
    pub fn verdict(&self) -> Option<Verdict> {
        self.result.as_ref().ok().map(|(r, _)| r.verdict)
    }
}

impl FileError {
    /// Why `file` could not be checked, as the checker says.
    fn of(file: &str, e: CheckError) -> FileError {
        match e {
            CheckError::Input(e) => FileError::Input(e),
            CheckError::BadValue { line, kind } => FileError::Config(InputError::new(file, line, kind).to_string()),
            e => FileError::Config(format!("{file}: {e}")),
        }
    }
}

/// Reads and checks one file.
pub fn check_file(file: &str, plan: &FilesPlan) -> Checked {
    let shards = plan.shard_options(file);
    let path = Path::new(file);
    let result = if plan.keep_histories {
        checker::check_path(path, &plan.read, &plan.check, shards.as_ref())
    } else {
        // Without the history kept, a transactional file is never held as values.
        checker::check_path_lean(path, &plan.read, &plan.check, shards.as_ref()).map(|r| (r, None))
    };
    let result = result.map_err(|e| FileError::of(file, e));
    Checked { file: file.to_string(), result }
}

/// Checks `files` in parallel; outcomes in the order given. `tick` is called
/// once per file, from any thread.
pub fn check_files(files: &[String], plan: &FilesPlan, tick: &(dyn Fn() + Sync)) -> Vec<Checked> {
    files
        .par_iter()
        .map(|f| {
            let c = check_file(f, plan);
            tick();
            c
        })
        .collect()
}

/// Checks an in-memory history named `name` with the default config (every
/// check that fits), keeping the history.
pub fn check_bytes(name: &str, bytes: &[u8]) -> Checked {
    let result =
        read::read_bytes(name, bytes, &ReadOptions::default()).map_err(FileError::Input).and_then(|(h, format)| {
            let r =
                checker::check(&h, &CheckConfig::default().for_format(format)).map_err(|e| FileError::of(name, e))?;
            Ok((r.with_source(name, format), Some(h)))
        });
    Checked { file: name.to_string(), result }
}

/// The exit code of checked files (the rule is [`crate::exit::code`]).
pub fn exit_code(outcomes: &[Checked]) -> u8 {
    let bad = outcomes.iter().filter(|c| c.result.is_err()).count();
    crate::exit::code(outcomes.iter().filter_map(Checked::verdict), bad)
}
