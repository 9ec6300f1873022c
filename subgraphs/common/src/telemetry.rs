//! Logging set-up: human-readable locally (coloured on a terminal only), one JSON object per
//! line with `LOG_FORMAT=json`.
//! The level filter comes from `RUST_LOG` (default `info`).

use std::sync::Arc;

use async_graphql::{
    extensions::{
        Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery, NextRequest,
    },
    parser::types::ExecutableDocument,
    Response, ServerResult, Variables,
};
use tracing::Instrument;
use tracing_subscriber::{fmt, prelude::*, EnvFilter};

pub fn init(service: &'static str) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn"));
    let json = std::env::var("LOG_FORMAT")
        .map(|format| format.eq_ignore_ascii_case("json"))
        .unwrap_or(false);
    let registry = tracing_subscriber::registry().with(filter);
    let result = if json {
        registry
            .with(
                fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_span_list(false),
            )
            .try_init()
    } else {
        // Colours only on a terminal: a log file or a collector gets plain text.
        let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
        registry
            .with(fmt::layer().compact().with_ansi(ansi))
            .try_init()
    };
    // A second init (tests start several services in one process) keeps the first subscriber.
    if result.is_ok() {
        tracing::info!(service, "telemetry initialised");
    }
}

/// One span per GraphQL request over HTTP, `graphql`, with the operation's name (or its type
/// when it has none), and an `info` event for each error in the answer. (A subscription's
/// stream has none: it lives as long as its WebSocket.)
///
/// It stands in for async-graphql's `Tracing` extension, which opened spans for the request,
/// its parse, validation and execution, one for every field that returns an object and one
/// for every object in a list, and wrote the whole query with its variables into the parse
/// span, on every request: a federated read of ten transactions made dozens of spans, each
/// formatted by the log layer, to be seen only in the context of a log line. The request id of
/// the HTTP layer and this span are what a log line needs.
pub struct RequestSpan;

impl ExtensionFactory for RequestSpan {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(RequestSpanExtension)
    }
}

struct RequestSpanExtension;

#[async_trait::async_trait]
impl Extension for RequestSpanExtension {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let span = tracing::info_span!(
            target: "bank::graphql",
            "graphql",
            operation = tracing::field::Empty
        );
        next.run(ctx).instrument(span).await
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        if let Some((name, operation)) = document.operations.iter().next() {
            let span = tracing::Span::current();
            match name {
                Some(name) => span.record("operation", name.as_str()),
                None => span.record("operation", operation.node.ty.to_string().as_str()),
            };
        }
        Ok(document)
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let response = next.run(ctx, operation_name).await;
        for error in &response.errors {
            tracing::info!(
                target: "bank::graphql",
                error = %error.message,
                path = ?error.path,
                "graphql error"
            );
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use async_graphql::{EmptyMutation, EmptySubscription, Object, Schema, SimpleObject};
    use tracing::{span, Subscriber};
    use tracing_subscriber::{layer::Context, registry::LookupSpan, Layer};

    use super::*;

    /// Records the name of every span opened, every value recorded on a span later, and the
    /// fields of every event.
    #[derive(Clone, Default)]
    struct Spans {
        opened: Arc<Mutex<Vec<String>>>,
        recorded: Arc<Mutex<Vec<String>>>,
        events: Arc<Mutex<Vec<String>>>,
    }

    struct Values<'a>(&'a mut Vec<String>);

    impl tracing::field::Visit for Values<'_> {
        fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
            self.0.push(format!("{}={value}", field.name()));
        }

        fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
            self.0.push(format!("{}={value:?}", field.name()));
        }
    }

    impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Spans {
        fn on_new_span(&self, attrs: &span::Attributes<'_>, _: &span::Id, _: Context<'_, S>) {
            self.opened
                .lock()
                .unwrap()
                .push(attrs.metadata().name().to_string());
        }

        fn on_record(&self, _: &span::Id, values: &span::Record<'_>, _: Context<'_, S>) {
            values.record(&mut Values(&mut self.recorded.lock().unwrap()));
        }

        fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
            let mut fields = Vec::new();
            event.record(&mut Values(&mut fields));
            self.events.lock().unwrap().push(fields.join(" "));
        }
    }

    #[derive(SimpleObject)]
    struct Leaf {
        value: i32,
    }

    #[derive(SimpleObject)]
    struct Branch {
        leaves: Vec<Leaf>,
    }

    struct Query;

    #[Object]
    impl Query {
        async fn branches(&self) -> Vec<Branch> {
            (0..10)
                .map(|_| Branch {
                    leaves: (0..10).map(|value| Leaf { value }).collect(),
                })
                .collect()
        }

        async fn broken(&self) -> async_graphql::Result<i32> {
            Err("no such thing".into())
        }
    }

    #[tokio::test]
    async fn a_request_opens_one_span_however_many_objects_it_resolves() {
        let spans = Spans::default();
        let subscriber = tracing_subscriber::registry().with(spans.clone());
        let _guard = tracing::subscriber::set_default(subscriber);
        let config = crate::config::ServiceConfig::from_env("telemetry_test", 0).unwrap();
        let schema = crate::server::configure_schema(
            Schema::build(Query, EmptyMutation, EmptySubscription),
            &config,
        )
        .finish();

        let response = schema
            .execute("query Forest { branches { leaves { value } } }")
            .await;

        assert!(response.errors.is_empty(), "{:?}", response.errors);
        assert_eq!(*spans.opened.lock().unwrap(), vec!["graphql".to_string()]);
        assert_eq!(
            *spans.recorded.lock().unwrap(),
            vec!["operation=Forest".to_string()]
        );

        // Without a name, the operation's type stands in.
        spans.recorded.lock().unwrap().clear();
        schema.execute("{ branches { leaves { value } } }").await;
        assert_eq!(
            *spans.recorded.lock().unwrap(),
            vec!["operation=query".to_string()]
        );
        assert!(
            spans.events.lock().unwrap().is_empty(),
            "no errors, no events"
        );

        // An error in the answer is logged with its path.
        schema.execute("{ broken }").await;
        assert_eq!(
            *spans.events.lock().unwrap(),
            vec![r#"message=graphql error error=no such thing path=[Field("broken")]"#.to_string()]
        );
    }
}
