//! `sportello demo`: the scenes of `crate::demo`, printed as they run.

use std::process::ExitCode;

/// `sportello demo`: runs the scenes, printing as they go; exit 1 when a scene fails, 2 when the
/// demo cannot start.
pub fn demo(options: crate::demo::DemoOptions) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(crate::demo::run(&options, true)) {
        Ok(run) if run.failed.is_empty() => ExitCode::SUCCESS,
        Ok(run) => {
            for f in &run.failed {
                eprintln!("failed: {f}");
            }
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(2)
        }
    }
}
