//! `omnibridge schedule preview "<expr>" [--tz Europe/Istanbul] [--count 10]`: the next fire
//! times of an interval or a cron expression, as the service would fire them.

use anyhow::{Result, anyhow};
use clap::{Args, Subcommand};
use omnibridge_schedule::Schedule;

/// Schedule tools.
#[derive(Debug, Subcommand)]
pub enum ScheduleCommand {
    /// Print the next fire times of an expression: an interval (`5m`, `1h`) or a cron (Quartz
    /// 6 or 7 fields, or Unix 5 fields).
    Preview(PreviewArgs),
}

/// Arguments of `omnibridge schedule preview`.
#[derive(Debug, Args)]
pub struct PreviewArgs {
    /// The expression, quoted for the shell: `"0 0/15 9-18 ? * MON-FRI"`, `"5m"`.
    pub expression: String,
    /// The IANA timezone the cron is read in (UTC by default).
    #[arg(long = "tz")]
    pub timezone: Option<String>,
    /// How many fire times (1..=1000).
    #[arg(long, default_value_t = 10)]
    pub count: usize,
}

/// Runs a `schedule` subcommand.
pub fn run(command: ScheduleCommand) -> Result<()> {
    match command {
        ScheduleCommand::Preview(args) => preview(args),
    }
}

fn preview(args: PreviewArgs) -> Result<()> {
    if !(1..=1000).contains(&args.count) {
        return Err(anyhow!("--count {} is not between 1 and 1000", args.count));
    }
    let schedule = Schedule::parse_expression(&args.expression, args.timezone.as_deref())
        .map_err(|e| anyhow!("{e}"))?;
    let times = schedule.preview(chrono::Utc::now(), args.count);
    if times.is_empty() {
        println!("{schedule}: never fires");
    }
    for time in times {
        println!("{}", time.to_rfc3339());
    }
    Ok(())
}
