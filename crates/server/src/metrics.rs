//! Prometheus metrics of the service (`GET /metrics`): executions and records by flow and
//! outcome, execution durations, runs in progress, skipped ticks and each flow's next fire time.

use omnibridge_engine::execution::RunSummary;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// A flow.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FlowLabel {
    flow: String,
}

/// A flow and an outcome.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FlowStatus {
    flow: String,
    status: String,
}

fn duration_histogram() -> Histogram {
    // 50 ms to about 14 minutes.
    Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
        0.05, 2.0, 15,
    ))
}

/// The service's metrics.
pub struct Metrics {
    registry: Registry,
    executions: Family<FlowStatus, Counter>,
    records: Family<FlowStatus, Counter>,
    durations: Family<FlowLabel, Histogram, fn() -> Histogram>,
    running: Family<FlowLabel, Gauge>,
    skipped: Family<FlowLabel, Counter>,
    next_fire: Family<FlowLabel, Gauge>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("omnibridge");
        let executions = Family::<FlowStatus, Counter>::default();
        registry.register(
            "executions",
            "Executions ended, by flow and status",
            executions.clone(),
        );
        let records = Family::<FlowStatus, Counter>::default();
        registry.register(
            "records",
            "Records handled, by flow and status (succeeded, failed, in_doubt, skipped)",
            records.clone(),
        );
        let durations = Family::<FlowLabel, Histogram, fn() -> Histogram>::new_with_constructor(
            duration_histogram,
        );
        registry.register(
            "execution_duration_seconds",
            "Execution wall time, by flow",
            durations.clone(),
        );
        let running = Family::<FlowLabel, Gauge>::default();
        registry.register(
            "executions_running",
            "Executions in progress, by flow",
            running.clone(),
        );
        let skipped = Family::<FlowLabel, Counter>::default();
        registry.register(
            "schedule_skipped",
            "Scheduled ticks skipped because the flow was still running",
            skipped.clone(),
        );
        let next_fire = Family::<FlowLabel, Gauge>::default();
        registry.register(
            "schedule_next_fire_timestamp_seconds",
            "When each flow fires next (Unix time; 0 when it has no timed schedule or is paused)",
            next_fire.clone(),
        );
        Metrics {
            registry,
            executions,
            records,
            durations,
            running,
            skipped,
            next_fire,
        }
    }
}

fn flow(flow: &str) -> FlowLabel {
    FlowLabel {
        flow: flow.to_string(),
    }
}

impl Metrics {
    /// An execution of `flow_id` started.
    pub fn started(&self, flow_id: &str) {
        self.running.get_or_create(&flow(flow_id)).inc();
    }

    /// An execution of `flow_id` ended (`None`: it could not start).
    pub fn ended(&self, flow_id: &str, summary: Option<&RunSummary>) {
        self.running.get_or_create(&flow(flow_id)).dec();
        let Some(summary) = summary else {
            return;
        };
        let execution = &summary.execution;
        let status = |status: &str| FlowStatus {
            flow: flow_id.to_string(),
            status: status.to_string(),
        };
        self.executions
            .get_or_create(&status(execution.status.as_str()))
            .inc();
        let counts = &execution.counts;
        for (name, count) in [
            ("succeeded", counts.succeeded),
            ("failed", counts.failed),
            ("in_doubt", counts.in_doubt),
            ("skipped", counts.skipped),
        ] {
            self.records.get_or_create(&status(name)).inc_by(count);
        }
        self.durations
            .get_or_create(&flow(flow_id))
            .observe(summary.duration.as_secs_f64());
    }

    /// A scheduled tick of `flow_id` was skipped.
    pub fn skipped(&self, flow_id: &str) {
        self.skipped.get_or_create(&flow(flow_id)).inc();
    }

    /// `flow_id` fires next at `unix_seconds` (0: not at all).
    pub fn next_fire(&self, flow_id: &str, unix_seconds: i64) {
        self.next_fire
            .get_or_create(&flow(flow_id))
            .set(unix_seconds);
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut text = String::new();
        if let Err(error) = prometheus_client::encoding::text::encode(&mut text, &self.registry) {
            tracing::warn!("encoding the metrics failed: {error}");
        }
        text
    }
}
