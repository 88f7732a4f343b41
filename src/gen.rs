//! `conch gen`: a synthetic linearizable history in the native format.

use crate::cli::GenArgs;
use crate::output;
use runner::exit;
use testkit::gen::GenConfig;

pub fn run(args: GenArgs) -> u8 {
    if args.clients == 0 || args.keys == 0 || args.info_permille > 1000 {
        return output::fail("gen: need --clients >= 1, --keys >= 1 and --info-permille <= 1000");
    }
    let cfg = GenConfig {
        seed: args.seed,
        clients: args.clients,
        keys: args.keys,
        ops: args.ops,
        workload: args.workload.into(),
        info_permille: args.info_permille,
        ..GenConfig::default()
    };
    let bytes = checker::write::to_jsonl(&testkit::gen::events(&cfg));
    match &args.out {
        Some(path) => match output::write(path, &bytes, args.force) {
            Ok(()) => exit::VALID,
            Err(e) => output::fail(e),
        },
        None => {
            use std::io::Write;
            let _ = std::io::stdout().lock().write_all(&bytes);
            exit::VALID
        }
    }
}
