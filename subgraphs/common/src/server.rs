//! The server bootstrap every subgraph uses: one axum app with
//!
//! - `POST /graphql`: GraphQL over HTTP (what the router sends, queries and `_entities`);
//! - `GET /graphql`: graphql-ws / graphql-transport-ws for subscriptions, authenticated in
//!   `connection_init`;
//! - `GET /healthz` (the process is alive) and `GET /readyz` (it can reach its database, and no
//!   consumer group member of it is stalled);
//! - `GET /metrics` (Prometheus);
//!
//! plus whatever routes the service adds, a request id on every request (taken from NGINX's
//! `X-Request-Id` or made here), a body size limit, and graceful shutdown on SIGTERM/SIGINT.

use std::{future::Future, sync::Arc, time::Duration};

use async_graphql::{
    http::ALL_WEBSOCKET_PROTOCOLS, Data, ObjectType, Schema, SchemaBuilder, ServerError,
    SubscriptionType,
};
use async_graphql_axum::{GraphQLProtocol, GraphQLRequest, GraphQLResponse, GraphQLWebSocket};
use axum::serve::ListenerExt;
use axum::{
    extract::{State, WebSocketUpgrade},
    http::{header::AUTHORIZATION, HeaderMap, HeaderName, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use sea_orm::DatabaseConnection;
use tokio::net::TcpListener;
use tower_http::{
    limit::RequestBodyLimitLayer,
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer},
    trace::TraceLayer,
};

use crate::{
    auth::{Principal, TokenVerifier},
    config::ServiceConfig,
    error::ApiError,
    metrics::Metrics,
};

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Per-socket buffers of graphql-ws connections, and the largest message accepted.
const WS_BUFFER_BYTES: usize = 4 * 1024;
const WS_MAX_MESSAGE_BYTES: usize = 256 * 1024;

/// The address of the client a request came from, as NGINX saw it: the last entry of
/// `X-Forwarded-For` (NGINX appends the peer it accepted; the router passes the header on).
/// `None` without the header (a request that did not come through NGINX).
#[derive(Clone, Copy, Debug)]
pub struct ClientAddress(pub Option<std::net::IpAddr>);

impl ClientAddress {
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let last = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .last()
            .and_then(|entry| entry.trim().parse().ok());
        ClientAddress(last)
    }
}

/// The caller's verified access token, for the calls a service makes to another on the
/// caller's behalf (closing an account, a loan's or a payment's money movements).
#[derive(Clone)]
pub struct BearerToken(pub String);

impl BearerToken {
    /// The request's token, or `UNAUTHENTICATED`.
    pub fn of(ctx: &async_graphql::Context<'_>) -> Result<String, crate::ApiError> {
        Ok(ctx
            .data_opt::<BearerToken>()
            .ok_or_else(crate::ApiError::unauthenticated)?
            .0
            .clone())
    }
}

/// Adds what every subgraph schema needs: federation (with subscriptions in the SDL), limits
/// on depth and complexity, a tracing span per request ([`crate::telemetry::RequestSpan`]), and
/// the audit of every mutation.
pub fn configure_schema<Q, M, S>(
    builder: SchemaBuilder<Q, M, S>,
    config: &ServiceConfig,
) -> SchemaBuilder<Q, M, S>
where
    Q: ObjectType + 'static,
    M: ObjectType + 'static,
    S: SubscriptionType + 'static,
{
    let builder = builder
        .enable_federation()
        .enable_subscription_in_federation()
        .limit_depth(config.max_query_depth)
        .limit_complexity(config.max_query_complexity)
        .extension(crate::telemetry::RequestSpan)
        .extension(crate::audit::AuditExtension);
    if config.introspection {
        builder
    } else {
        // Federation's `_service` and `_entities` stay: the router needs them.
        builder.disable_introspection().disable_suggestions()
    }
}

/// The schema's Federation SDL, as `<service> sdl` prints it and `make schema` composes.
pub fn federation_sdl<Q, M, S>(schema: &Schema<Q, M, S>) -> String
where
    Q: ObjectType + 'static,
    M: ObjectType + 'static,
    S: SubscriptionType + 'static,
{
    schema.sdl_with_options(async_graphql::SDLExportOptions::new().federation())
}

/// Adds per-request data (dataloaders) to a request. Each request gets fresh loaders so that a
/// cached row never outlives the request that read it.
pub type RequestData = Arc<dyn Fn(&mut Data) + Send + Sync>;

/// What a running subgraph is made of.
pub struct Subgraph<Q, M, S> {
    pub config: ServiceConfig,
    pub schema: Schema<Q, M, S>,
    pub db: DatabaseConnection,
    pub verifier: TokenVerifier,
    pub request_data: RequestData,
    /// Routes the service adds (for example the users service's `/.well-known/*`).
    pub extra_routes: Router,
}

struct AppState<Q, M, S> {
    schema: Schema<Q, M, S>,
    db: DatabaseConnection,
    verifier: TokenVerifier,
    request_data: RequestData,
    metrics: Metrics,
    audit: crate::audit::Audit,
}

impl<Q, M, S> Clone for AppState<Q, M, S> {
    fn clone(&self) -> Self {
        Self {
            schema: self.schema.clone(),
            db: self.db.clone(),
            verifier: self.verifier.clone(),
            request_data: self.request_data.clone(),
            metrics: self.metrics.clone(),
            audit: self.audit.clone(),
        }
    }
}

impl<Q, M, S> Subgraph<Q, M, S>
where
    Q: ObjectType + 'static,
    M: ObjectType + 'static,
    S: SubscriptionType + 'static,
{
    /// Binds the configured address and serves until SIGTERM/SIGINT (see [`serve`]).
    pub async fn serve(self) -> anyhow::Result<()> {
        let addr = self.config.listen_addr;
        let grace = self.config.shutdown_grace;
        let name = self.config.name;
        let listener = TcpListener::bind(addr).await?;
        tracing::info!(%addr, service = name, "subgraph listening");
        let nodelay = self.config.tcp_nodelay;
        serve(
            listener,
            self.router(),
            grace,
            nodelay,
            std::future::pending(),
        )
        .await?;
        Ok(())
    }

    /// The complete axum app.
    pub fn router(self) -> Router {
        let metrics = Metrics::new(self.config.name, self.db.clone());
        let audit = crate::audit::Audit::start(self.config.name, self.db.clone());
        crate::audit::spawn_sealer(self.db.clone(), std::time::Duration::from_secs(1));
        let state = AppState {
            schema: self.schema,
            db: self.db,
            verifier: self.verifier,
            request_data: self.request_data,
            metrics: metrics.clone(),
            audit,
        };
        let request_id = HeaderName::from_static(REQUEST_ID_HEADER);
        Router::new()
            .route(
                "/graphql",
                get(websocket::<Q, M, S>).post(graphql::<Q, M, S>),
            )
            .route("/healthz", get(|| async { "ok" }))
            .route("/readyz", get(readyz::<Q, M, S>))
            .with_state(state)
            .merge(self.extra_routes)
            .route(
                "/metrics",
                get(crate::metrics::handler).with_state(metrics.clone()),
            )
            .layer(axum::middleware::from_fn_with_state(
                metrics,
                crate::metrics::track,
            ))
            .layer(RequestBodyLimitLayer::new(self.config.max_body_bytes))
            .layer(PropagateRequestIdLayer::new(request_id.clone()))
            .layer(
                TraceLayer::new_for_http().make_span_with(|request: &axum::http::Request<_>| {
                    let request_id = request
                        .extensions()
                        .get::<RequestId>()
                        .and_then(|id| id.header_value().to_str().ok())
                        .unwrap_or_default();
                    tracing::info_span!(
                        "request",
                        method = %request.method(),
                        path = %request.uri().path(),
                        request_id,
                    )
                }),
            )
            .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
    }
}

async fn graphql<Q, M, S>(
    State(state): State<AppState<Q, M, S>>,
    headers: HeaderMap,
    request: GraphQLRequest,
) -> GraphQLResponse
where
    Q: ObjectType + 'static,
    M: ObjectType + 'static,
    S: SubscriptionType + 'static,
{
    let authorization = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok());
    let mut request = request.into_inner();
    match state.verifier.verify_header(authorization).await {
        Ok(Some(principal)) => {
            request = request.data(principal);
            if let Some(token) = authorization.and_then(|value| value.strip_prefix("Bearer ")) {
                request = request.data(BearerToken(token.to_string()));
            }
        }
        Ok(None) => {}
        Err(err) => {
            let response = error_response(err);
            state.metrics.record_graphql_errors(&response);
            return response.into();
        }
    }
    request = request
        .data(ClientAddress::from_headers(&headers))
        .data(state.audit.clone())
        .data(Arc::new(crate::audit::Notes::default()));
    if let Some(id) = headers
        .get(REQUEST_ID_HEADER)
        .and_then(|value| value.to_str().ok())
    {
        request = request.data(crate::audit::RequestId(id.to_string()));
    }
    (state.request_data)(&mut request.data);
    let response = state.schema.execute(request).await;
    state.metrics.record_graphql_errors(&response);
    response.into()
}

fn error_response(err: ApiError) -> async_graphql::Response {
    let err: async_graphql::Error = err.into();
    let server_error: ServerError = err.into_server_error(Default::default());
    async_graphql::Response::from_errors(vec![server_error])
}

async fn websocket<Q, M, S>(
    State(state): State<AppState<Q, M, S>>,
    protocol: GraphQLProtocol,
    upgrade: WebSocketUpgrade,
) -> Response
where
    Q: ObjectType + 'static,
    M: ObjectType + 'static,
    S: SubscriptionType + 'static,
{
    // GraphQL messages are small; the defaults (128 KiB per socket) would cost a gigabyte per
    // ten thousand idle subscribers.
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .read_buffer_size(WS_BUFFER_BYTES)
        .write_buffer_size(WS_BUFFER_BYTES)
        .max_message_size(WS_MAX_MESSAGE_BYTES)
        .on_upgrade(move |socket| serve_websocket(state, protocol, socket))
}

/// The graphql-ws close code for a connection whose token stopped counting: "Forbidden".
/// graphql-ws clients reconnect after it (with a fresh token), unlike after 4401.
pub const TOKEN_ENDED_CLOSE_CODE: u16 = 4403;

/// Serves one GraphQL WebSocket. The token given in `connection_init` is held for the life of
/// the connection: when it expires, or its session ends or its user's roles change, the
/// connection is closed with [`TOKEN_ENDED_CLOSE_CODE`] and every subscription on it ends.
async fn serve_websocket<Q, M, S>(
    state: AppState<Q, M, S>,
    protocol: GraphQLProtocol,
    socket: axum::extract::ws::WebSocket,
) where
    Q: ObjectType + 'static,
    M: ObjectType + 'static,
    S: SubscriptionType + 'static,
{
    use axum::extract::ws::{CloseFrame, Message};
    use futures::{SinkExt, StreamExt};

    let (mut sink, incoming) = socket.split();
    // The GraphQL side writes into a channel, so that the close frame can be sent when the
    // token ends even though the GraphQL side owns its sender.
    let (outgoing, mut outbox) = futures::channel::mpsc::channel::<Message>(16);
    let mut closer = outgoing.clone();
    // Set when `connection_init`'s token is refused: async-graphql then closes with 1002, and
    // graphql-ws says an unauthorised `connection_init` is closed with 4403 ("Forbidden").
    let init_refused = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let refused = init_refused.clone();
    let writer = tokio::spawn(async move {
        while let Some(mut message) = outbox.next().await {
            if let Message::Close(Some(frame)) = &mut message {
                if refused.load(std::sync::atomic::Ordering::SeqCst) {
                    frame.code = TOKEN_ENDED_CLOSE_CODE;
                }
            }
            let close = matches!(message, Message::Close(_));
            if sink.send(message).await.is_err() || close {
                break;
            }
        }
    });
    let (lease_tx, lease_rx) = tokio::sync::oneshot::channel();
    let verifier = state.verifier.clone();
    let request_data = state.request_data.clone();
    let graphql =
        GraphQLWebSocket::new_with_pair(outgoing, incoming, state.schema.clone(), protocol)
            .on_connection_init(move |payload| async move {
                let grant = verifier
                    .verify_header_lease(authorization_from_init(&payload).as_deref())
                    .await
                    .map_err(|err| {
                        init_refused.store(true, std::sync::atomic::Ordering::SeqCst);
                        async_graphql::Error::from(err)
                    })?;
                let mut data = Data::default();
                request_data(&mut data);
                if let Some((principal, lease)) = grant {
                    data.insert::<Principal>(principal);
                    let _ = lease_tx.send(lease);
                }
                Ok(data)
            })
            .serve();
    let verifier = state.verifier.clone();
    let token_end = async move {
        match lease_rx.await {
            Ok(lease) => verifier.lease_end(&lease).await,
            // Anonymous, or never initialised: nothing ends it but the client.
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = graphql => {}
        end = token_end => {
            tracing::debug!(reason = end.as_str(), "closing a WebSocket: its access token no longer counts");
            state.metrics.record_token_closure(end.as_str());
            let frame = CloseFrame {
                code: TOKEN_ENDED_CLOSE_CODE,
                reason: end.message().into(),
            };
            let _ = closer.send(Message::Close(Some(frame))).await;
        }
    }
    drop(closer);
    let _ = writer.await;
}

/// Finds the `Authorization` value in a graphql-ws `connection_init` payload. Clients send
/// `{"Authorization": "Bearer ..."}`; routers forwarding headers send `{"headers": {...}}`.
pub fn authorization_from_init(payload: &serde_json::Value) -> Option<String> {
    let find = |object: &serde_json::Value| {
        object.as_object().and_then(|map| {
            map.iter()
                .find(|(key, _)| key.eq_ignore_ascii_case("authorization"))
                .and_then(|(_, value)| value.as_str().map(str::to_owned))
        })
    };
    find(payload).or_else(|| payload.get("headers").and_then(find))
}

async fn readyz<Q, M, S>(State(state): State<AppState<Q, M, S>>) -> impl IntoResponse {
    if !crate::db::ping(&state.db).await {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "database unavailable".to_string(),
        );
    }
    // A consumer group member that gets no partition while events wait (it rejoins by itself;
    // this says so until it is assigned again).
    let stalled = crate::consumer::problems();
    if !stalled.is_empty() {
        return (StatusCode::SERVICE_UNAVAILABLE, stalled.join("\n"));
    }
    (StatusCode::OK, "ready".to_string())
}

/// Serves `app` until SIGTERM/SIGINT (or `shutdown` resolves), then stops accepting, lets
/// in-flight requests finish for up to `grace`, and returns.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    grace: Duration,
    nodelay: bool,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stopping_tx, mut stopping_rx) = tokio::sync::watch::channel(false);
    let signal = async move {
        tokio::select! {
            _ = shutdown_signal() => {},
            _ = shutdown => {},
        }
        tracing::info!("shutting down: draining in-flight requests");
        let _ = stopping_tx.send(true);
    };
    // Small writes (a subscription's next event, a short response) go out at once: with
    // Nagle's algorithm on, a write waits for the peer's delayed ACK (up to 40 ms on Linux)
    // whenever earlier data is unacknowledged.
    let listener = listener.tap_io(move |stream| {
        if let Err(err) = stream.set_nodelay(nodelay) {
            tracing::debug!(error = %err, "TCP_NODELAY not set on a connection");
        }
    });
    let server = axum::serve(listener, app).with_graceful_shutdown(signal);
    let deadline = async move {
        let _ = stopping_rx.wait_for(|stopping| *stopping).await;
        tokio::time::sleep(grace).await;
    };
    tokio::select! {
        result = server => result,
        _ = deadline => {
            tracing::warn!(?grace, "grace period over; closing remaining connections");
            Ok(())
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_found_in_either_init_payload_shape() {
        let direct = serde_json::json!({"Authorization": "Bearer abc"});
        let nested = serde_json::json!({"headers": {"authorization": "Bearer xyz"}});
        assert_eq!(
            authorization_from_init(&direct).as_deref(),
            Some("Bearer abc")
        );
        assert_eq!(
            authorization_from_init(&nested).as_deref(),
            Some("Bearer xyz")
        );
        assert_eq!(authorization_from_init(&serde_json::json!({})), None);
    }

    #[test]
    fn the_client_is_the_last_address_nginx_added() {
        let mut headers = HeaderMap::new();
        assert!(ClientAddress::from_headers(&headers).0.is_none());
        headers.insert("x-forwarded-for", "10.9.9.9, 127.0.0.2".parse().unwrap());
        assert_eq!(
            ClientAddress::from_headers(&headers).0,
            Some("127.0.0.2".parse().unwrap()),
            "a client's own X-Forwarded-For comes first and is not trusted"
        );
    }

    struct Query;

    #[async_graphql::Object]
    impl Query {
        async fn hello(&self) -> &str {
            "world"
        }

        #[graphql(entity)]
        async fn find_query_by_id(&self, id: async_graphql::ID) -> Option<Entity> {
            Some(Entity { id })
        }
    }

    #[derive(async_graphql::SimpleObject)]
    struct Entity {
        id: async_graphql::ID,
    }

    async fn answers(introspection: bool) -> Vec<async_graphql::Response> {
        let mut config = crate::config::ServiceConfig::from_env("introtest", 1).unwrap();
        config.introspection = introspection;
        let schema = configure_schema(
            Schema::build(
                Query,
                async_graphql::EmptyMutation,
                async_graphql::EmptySubscription,
            ),
            &config,
        )
        .finish();
        let mut out = Vec::new();
        for query in [
            "{ __schema { queryType { name } } }",
            "{ helo }",
            "{ _service { sdl } }",
        ] {
            out.push(schema.execute(query).await);
        }
        out
    }

    #[tokio::test]
    async fn introspection_and_suggestions_can_be_switched_off() {
        let on = answers(true).await;
        assert!(on[0].errors.is_empty(), "{:?}", on[0].errors);
        assert!(on[1].errors[0].message.contains("Did you mean"));
        let off = answers(false).await;
        assert!(
            off[0].data.to_string().contains("null") || !off[0].errors.is_empty(),
            "no schema without introspection: {:?}",
            off[0]
        );
        assert!(
            !off[0].data.to_string().contains("Query"),
            "{:?}",
            off[0].data
        );
        assert!(!off[1].errors.is_empty());
        assert!(
            !off[1].errors[0].message.contains("Did you mean"),
            "{}",
            off[1].errors[0].message
        );
        assert!(
            off[2].errors.is_empty(),
            "the router still reads the federation SDL"
        );
    }
}

#[cfg(test)]
mod shutdown_tests {
    use std::time::Duration;

    use axum::{routing::get, Router};

    use super::serve;

    async fn start(
        grace: Duration,
    ) -> (
        String,
        tokio::sync::oneshot::Sender<()>,
        tokio::task::JoinHandle<()>,
    ) {
        let app = Router::new().route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(400)).await;
                "done"
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/slow", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            serve(listener, app, grace, true, async {
                stopped.await.ok();
            })
            .await
            .unwrap();
        });
        (url, stop, server)
    }

    #[tokio::test]
    async fn shutdown_lets_in_flight_requests_finish() {
        let (url, stop, server) = start(Duration::from_secs(5)).await;
        let request = tokio::spawn(async move { reqwest::get(url).await?.text().await });
        tokio::time::sleep(Duration::from_millis(100)).await;
        stop.send(()).unwrap();
        assert_eq!(request.await.unwrap().unwrap(), "done");
        tokio::time::timeout(Duration::from_secs(2), server)
            .await
            .expect("the server stops once drained")
            .unwrap();
    }

    #[tokio::test]
    async fn shutdown_does_not_wait_past_the_grace_period() {
        let (url, stop, server) = start(Duration::from_millis(50)).await;
        let _request = tokio::spawn(async move { reqwest::get(url).await });
        tokio::time::sleep(Duration::from_millis(100)).await;
        stop.send(()).unwrap();
        tokio::time::timeout(Duration::from_millis(300), server)
            .await
            .expect("the server gives up after the grace period")
            .unwrap();
    }
}
