//! WCET guards: a [`Wcet`] holds the budgets and the metric families; a [`Guard`] times one
//! callback, counts its overruns and logs them (the first at once, then at most once a
//! second, with the count).

use std::sync::Arc;
use std::time::{Duration, Instant};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use super::RtConfig;

/// Labels of per-callback metrics.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CallbackLabels {
    /// The callback: a topic, a service or a timer name.
    pub callback: String,
}

fn duration_histogram() -> Histogram {
    // 1 us .. ~4 s.
    Histogram::new(exponential_buckets(1e-6, 2.0, 23))
}

/// Metric families of WCET guards.
#[derive(Debug)]
pub struct WcetMetrics {
    overruns: Family<CallbackLabels, Counter>,
    duration: Family<CallbackLabels, Histogram, fn() -> Histogram>,
}

impl Default for WcetMetrics {
    fn default() -> Self {
        Self {
            overruns: Family::default(),
            duration: Family::new_with_constructor(duration_histogram),
        }
    }
}

/// Budgets and metrics shared by the guards of one node.
#[derive(Debug, Clone, Default)]
pub struct Wcet {
    config: Arc<RtConfig>,
    metrics: Arc<WcetMetrics>,
}

impl Wcet {
    /// Guards with the budgets of `config`.
    #[must_use]
    pub fn new(config: RtConfig) -> Self {
        Self {
            config: Arc::new(config),
            metrics: Arc::default(),
        }
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &RtConfig {
        &self.config
    }

    /// Registers `omnimesh_wcet_overruns` and `omnimesh_callback_duration_seconds`.
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "omnimesh_wcet_overruns",
            "Callback runs that took longer than their budget, per callback",
            self.metrics.overruns.clone(),
        );
        registry.register(
            "omnimesh_callback_duration_seconds",
            "Time each callback run took, per callback",
            self.metrics.duration.clone(),
        );
    }

    /// The budget of callback `name` (`None`: timed, never overrun).
    #[must_use]
    pub fn budget(&self, name: &str) -> Option<Duration> {
        let us = self
            .config
            .budgets
            .get(name)
            .copied()
            .unwrap_or(self.config.default_budget_us);
        (us > 0).then(|| Duration::from_micros(us))
    }

    /// A guard for callback `name`.
    #[must_use]
    pub fn guard(&self, name: &str) -> Guard {
        let labels = CallbackLabels {
            callback: name.to_owned(),
        };
        Guard {
            name: name.to_owned(),
            budget: self.budget(name),
            overrun_counter: self.metrics.overruns.get_or_create_owned(&labels),
            duration: self.metrics.duration.get_or_create_owned(&labels),
            overruns: 0,
            logged: None,
            unlogged: 0,
        }
    }
}

/// Times one callback against its budget.
#[derive(Debug)]
pub struct Guard {
    name: String,
    budget: Option<Duration>,
    overrun_counter: Counter,
    duration: Histogram,
    overruns: u64,
    logged: Option<Instant>,
    unlogged: u64,
}

impl Guard {
    /// How often an overrun is logged at most (the count says how many there were).
    pub const LOG_EVERY: Duration = Duration::from_secs(1);

    /// Runs `f`, timing it.
    pub fn run<R>(&mut self, f: impl FnOnce() -> R) -> R {
        let start = Instant::now();
        let result = f();
        let took = start.elapsed();
        self.duration.observe(took.as_secs_f64());
        if let Some(budget) = self.budget.filter(|b| took > *b) {
            self.overrun(took, budget);
        }
        result
    }

    fn overrun(&mut self, took: Duration, budget: Duration) {
        self.overruns += 1;
        self.overrun_counter.inc();
        self.unlogged += 1;
        let now = Instant::now();
        if self
            .logged
            .is_none_or(|at| now.duration_since(at) >= Self::LOG_EVERY)
        {
            tracing::warn!(
                callback = %self.name,
                took_us = took.as_micros() as u64,
                budget_us = budget.as_micros() as u64,
                overruns = self.unlogged,
                total = self.overruns,
                "callback over its WCET budget"
            );
            self.logged = Some(now);
            self.unlogged = 0;
        }
    }

    /// Overruns so far.
    #[must_use]
    pub fn overruns(&self) -> u64 {
        self.overruns
    }

    /// The budget (`None`: timed only).
    #[must_use]
    pub fn budget(&self) -> Option<Duration> {
        self.budget
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overruns_are_counted_and_exported() {
        let mut config = RtConfig {
            default_budget_us: 1_000_000,
            ..RtConfig::default()
        };
        config.budgets.insert("slow".into(), 100);
        let wcet = Wcet::new(config);
        let mut registry = Registry::default();
        wcet.register(&mut registry);
        let (mut slow, mut fast) = (wcet.guard("slow"), wcet.guard("fast"));
        for _ in 0..3 {
            slow.run(|| std::thread::sleep(Duration::from_millis(2)));
            fast.run(|| ());
        }
        assert_eq!((slow.overruns(), fast.overruns()), (3, 0));
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        assert!(
            text.contains("omnimesh_wcet_overruns_total{callback=\"slow\"} 3"),
            "{text}"
        );
        assert!(text.contains("omnimesh_callback_duration_seconds_count{callback=\"fast\"} 3"));
        assert!(Wcet::default().budget("x").is_none());
    }
}
