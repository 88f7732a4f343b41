//! `conch gen`: a synthetic history in the native format: single-object ops
//! linearizable by construction, or transactions strict serializable by
//! construction (Elle's shapes), optionally with planted anomalies.

use crate::cli::GenArgs;
use crate::output;
use runner::exit;
use testkit::gen::GenConfig;
use testkit::gen_txn::{self, GenKind, TxnGenConfig};

pub fn run(args: GenArgs) -> u8 {
    let kind: GenKind = args.workload.into();
    let (clients, keys, info_permille) =
        match kind.sizes(args.clients, args.keys, args.info_permille, !args.plant.is_empty()) {
            Ok(s) => s,
            Err(e) => return output::fail(e),
        };
    let (seed, ops) = (args.seed, args.ops);
    let bytes = match kind {
        GenKind::Ops(workload) => {
            let cfg = GenConfig { seed, clients, keys, ops, workload, info_permille, ..GenConfig::default() };
            checker::write::to_jsonl(&testkit::gen::events(&cfg))
        }
        GenKind::Txn(workload) => {
            let cfg = TxnGenConfig {
                concurrency: clients as u64,
                keys_active: keys as u64,
                mops_max: args.max_txn_length,
                writes_per_key_max: args.max_writes_per_key,
                info_permille: info_permille.into(),
                ..TxnGenConfig::elle(workload, ops as u64)
            };
            let plants: Vec<gen_txn::Plant> = args.plant.iter().map(|&p| p.into()).collect();
            gen_txn::jsonl(&cfg.planted_evenly(&plants), seed)
        }
    };
    let Some(path) = &args.out else {
        use std::io::Write;
        let _ = std::io::stdout().lock().write_all(&bytes);
        return exit::VALID;
    };
    output::write(path, &bytes, args.force).map_or_else(output::fail, |()| exit::VALID)
}
