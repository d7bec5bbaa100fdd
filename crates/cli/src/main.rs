//! The `omnibridge` binary: thin glue over the workspace's libraries.
//!
//! Each subcommand lives in its own module under `commands/`, so that the libraries stay usable
//! on their own and this file only wires arguments to them.

mod commands;

/// mimalloc is the production allocator: mapping outputs are built from many small strings and
/// maps, and it roughly halves their allocation cost compared with the system allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{Parser, Subcommand};

/// omnibridge: a self-hosted integration engine between Omnitron and ERPs.
#[derive(Debug, Parser)]
#[command(name = "omnibridge", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print what this build contains: version and the subsystems compiled in.
    Version,
    /// Test, check and migrate Python (NiFi ExecuteScript) scripts.
    Script(commands::script::ScriptArgs),
    /// Jolt mapping specs: `mapping test --spec spec.json --input input.json [--explain]`.
    #[command(subcommand)]
    Mapping(commands::mapping::MappingCommand),
    /// Run the Omnitron and ERP simulators (for tests, benchmarks and the demo).
    Sim(commands::sim::SimArgs),
    /// NiFi Expression Language: evaluate templates as NiFi 1.28 does.
    #[command(subcommand)]
    Expr(commands::expr::ExprCommand),
    /// Run a flow: `run <flow-dir> --once` runs one execution and prints its summary.
    Run(commands::run::RunArgs),
    /// Show executions, or the row logs of one execution or one order.
    Logs(commands::logs::LogsArgs),
    /// Trigger an inbound Order Status Flow with parameters: `trigger <flow-dir> number=1001`.
    Trigger(commands::trigger::TriggerArgs),
    /// Push rows to an outbound Order Status Flow, as the ERP does: `push <flow-dir> rows.json`.
    Push(commands::push::PushArgs),
    /// Run the failed and in-doubt records of an execution (or one order) again.
    Replay(commands::replay::ReplayArgs),
    /// The demo: both simulators and the example flows, on embedded SQLite.
    Demo(commands::demo::DemoArgs),
    /// A flow's per-record ledger: list orders held in doubt, resolve them (resend or done).
    Ledger(commands::ledger::LedgerArgs),
    /// The service: every flow under a directory, with the JSON API.
    Serve(commands::serve::ServeArgs),
    /// Schedules: preview the next fire times of an interval or a cron.
    #[command(subcommand)]
    Schedule(commands::schedule::ScheduleCommand),
}

/// A reader that goes away (`omnibridge logs | head -1`) closes our stdout: `println!` then
/// panics with "failed printing to stdout: Broken pipe". That is not a failure of the command,
/// so it ends quietly (exit 0), as a Unix filter does; every other panic is reported as usual.
fn end_quietly_on_a_closed_stdout() {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(0);
        }
        report(info);
    }));
}

fn main() -> anyhow::Result<()> {
    end_quietly_on_a_closed_stdout();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("OMNIBRIDGE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::Version => commands::version::run(),
        Command::Script(args) => {
            let code = commands::script::run(args)?;
            std::process::exit(code)
        }
        Command::Mapping(cmd) => commands::mapping::run(cmd),
        Command::Sim(args) => commands::sim::run(args),
        Command::Run(args) => std::process::exit(commands::run::run(args)?),
        Command::Logs(args) => commands::logs::run(args),
        Command::Trigger(args) => std::process::exit(commands::trigger::run(args)?),
        Command::Push(args) => std::process::exit(commands::push::run(args)?),
        Command::Replay(args) => std::process::exit(commands::replay::run(args)?),
        Command::Demo(args) => commands::demo::run(args),
        Command::Ledger(args) => commands::ledger::run(args),
        Command::Serve(args) => commands::serve::run(args),
        Command::Schedule(command) => commands::schedule::run(command),
        Command::Expr(command) => commands::expr::run(command),
    }
}
