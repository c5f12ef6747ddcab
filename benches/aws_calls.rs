//! AWS API calls per ticket life and the cost per 10,000 tickets, on moto (needs the `.venv` of
//! `scripts/test-env.sh`). Prints the markdown of `docs/benchmarks/aws-calls.md`:
//!
//! ```sh
//! cargo bench --features aws --bench aws_calls
//! ```

#[path = "../tests/support/mod.rs"]
mod support;

use support::aws_calls::{Lab, breakdown, cost_notes, markdown};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // `cargo bench` passes `--bench`; a filter argument is accepted and ignored.
    let mut lab = Lab::new().await;
    let flows = lab.all_flows().await;
    println!("## AWS API calls per ticket life\n");
    println!("{}", markdown(&flows));
    for flow in &flows {
        println!("{}", breakdown(flow));
    }
    println!("{}", cost_notes(&flows));
}
