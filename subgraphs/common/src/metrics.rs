//! Prometheus metrics at `GET /metrics`: requests and their latency by route and status,
//! GraphQL errors by their public code, and the database pool. Every series carries the
//! `service` label.

use std::time::Instant;

use axum::{
    extract::{MatchedPath, Request, State},
    http::{header::CONTENT_TYPE, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use prometheus::{
    opts, Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Registry, TextEncoder,
};
use sea_orm::DatabaseConnection;

#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    duration: HistogramVec,
    graphql_errors: IntCounterVec,
    token_closures: IntCounterVec,
    pool_size: IntGauge,
    pool_idle: IntGauge,
    service: String,
    db: DatabaseConnection,
}

impl Metrics {
    pub fn new(service: &str, db: DatabaseConnection) -> Self {
        let labels = std::iter::once(("service".to_string(), service.to_string())).collect();
        let registry = Registry::new_custom(None, Some(labels)).expect("a valid registry");
        let requests = IntCounterVec::new(
            opts!(
                "http_requests_total",
                "HTTP requests by route, method and status"
            ),
            &["route", "method", "status"],
        )
        .expect("valid metric");
        let duration = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "HTTP request latency by route",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
            ]),
            &["route"],
        )
        .expect("valid metric");
        let graphql_errors = IntCounterVec::new(
            opts!("graphql_errors_total", "GraphQL errors by extensions.code"),
            &["code"],
        )
        .expect("valid metric");
        let token_closures = IntCounterVec::new(
            opts!(
                "websocket_token_closures_total",
                "WebSocket connections closed because their access token expired or was revoked"
            ),
            &["reason"],
        )
        .expect("valid metric");
        let pool_size = IntGauge::new("db_pool_connections", "Open database connections")
            .expect("valid metric");
        let pool_idle = IntGauge::new("db_pool_idle_connections", "Idle database connections")
            .expect("valid metric");
        for collector in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(duration.clone()),
            Box::new(graphql_errors.clone()),
            Box::new(token_closures.clone()),
            Box::new(pool_size.clone()),
            Box::new(pool_idle.clone()),
        ] {
            registry.register(collector).expect("unique metric names");
        }
        Self {
            registry,
            requests,
            duration,
            graphql_errors,
            token_closures,
            pool_size,
            pool_idle,
            service: service.to_owned(),
            db,
        }
    }

    /// Counts the errors of a GraphQL response by code.
    /// A WebSocket connection closed because its token stopped counting.
    pub fn record_token_closure(&self, reason: &str) {
        self.token_closures.with_label_values(&[reason]).inc();
    }

    pub fn record_graphql_errors(&self, response: &async_graphql::Response) {
        for error in &response.errors {
            let code = error
                .extensions
                .as_ref()
                .and_then(|ext| ext.get("code"))
                .and_then(|value| match value {
                    async_graphql::Value::String(code) => Some(code.as_str()),
                    _ => None,
                })
                .unwrap_or("UNKNOWN");
            self.graphql_errors.with_label_values(&[code]).inc();
        }
    }

    fn render(&self) -> Result<String, prometheus::Error> {
        let pool = self.db.get_postgres_connection_pool();
        self.pool_size.set(i64::from(pool.size()));
        self.pool_idle.set(pool.num_idle() as i64);
        let mut families = self.registry.gather();
        // A service's own metrics (registered in the default registry, see `service_metric`)
        // get the same `service` label.
        for mut family in prometheus::default_registry().gather() {
            for metric in family.mut_metric() {
                let mut labels = metric.take_label();
                let mut label = prometheus::proto::LabelPair::new();
                label.set_name("service".to_owned());
                label.set_value(self.service.clone());
                labels.push(label);
                metric.set_label(labels);
            }
            families.push(family);
        }
        let mut buffer = Vec::new();
        TextEncoder::new().encode(&families, &mut buffer)?;
        Ok(String::from_utf8(buffer).unwrap_or_default())
    }
}

/// Registers one of a service's own metrics; `/metrics` serves it with the `service` label.
/// Panics on a duplicate name, which is a programming error found at start-up.
pub fn service_metric<C: prometheus::core::Collector + Clone + 'static>(collector: C) -> C {
    prometheus::default_registry()
        .register(Box::new(collector.clone()))
        .expect("a metric name registered once");
    collector
}

/// A service's own counter, registered as [`service_metric`] does.
pub fn service_counter(name: &str, help: &str) -> prometheus::IntCounter {
    service_metric(prometheus::IntCounter::new(name, help).expect("a valid counter name"))
}

/// Middleware: counts and times every request by its route pattern (not its raw path, so the
/// number of series stays bounded).
pub async fn track(State(metrics): State<Metrics>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    metrics
        .duration
        .with_label_values(&[route.as_str()])
        .observe(started.elapsed().as_secs_f64());
    metrics
        .requests
        .with_label_values(&[route.as_str(), method.as_str(), response.status().as_str()])
        .inc();
    response
}

/// `GET /metrics`
pub async fn handler(State(metrics): State<Metrics>) -> Response {
    match metrics.render() {
        Ok(body) => (
            [(CONTENT_TYPE, TextEncoder::new().format_type().to_owned())],
            body,
        )
            .into_response(),
        Err(err) => {
            tracing::error!(error = %err, "rendering metrics failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}
