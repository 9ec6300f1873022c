//! graphql-ws over WSS through NGINX to the router.

use bank_e2e::Bank;
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::{
    connect_async_tls_with_config,
    tungstenite::{client::IntoClientRequest, http::HeaderValue, Message},
    Connector,
};

#[tokio::test]
async fn a_websocket_upgrades_through_nginx_and_speaks_graphql_transport_ws() {
    let bank = Bank::from_env().unwrap();
    let customer = bank.new_customer("socket").await;
    let url = bank.graphql_url().replacen("https://", "wss://", 1);
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static("graphql-transport-ws"),
    );
    let connector = Connector::Rustls(bank.tls_config().unwrap());
    let (mut socket, response) =
        connect_async_tls_with_config(request, None, false, Some(connector))
            .await
            .expect("the upgrade succeeds");
    assert_eq!(response.status(), 101);
    assert_eq!(
        response.headers().get("sec-websocket-protocol").unwrap(),
        "graphql-transport-ws"
    );

    let init = json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {}", customer.token) } });
    socket
        .send(Message::Text(init.to_string().into()))
        .await
        .unwrap();
    let ack = next_json(&mut socket).await;
    assert_eq!(ack["type"], "connection_ack", "{ack}");

    // A query over the socket runs through the router like any other.
    let subscribe =
        json!({ "id": "1", "type": "subscribe", "payload": { "query": "{ me { id } }" } });
    socket
        .send(Message::Text(subscribe.to_string().into()))
        .await
        .unwrap();
    let next = next_json(&mut socket).await;
    assert_eq!(next["type"], "next", "{next}");
    assert_eq!(next["payload"]["data"]["me"]["id"], customer.id.as_str());
    socket.close(None).await.ok();
}

async fn next_json<S>(socket: &mut S) -> Value
where
    S: StreamExt<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    let deadline = tokio::time::Duration::from_secs(10);
    loop {
        let message = tokio::time::timeout(deadline, socket.next())
            .await
            .expect("a message within 10 s")
            .expect("the socket stays open")
            .expect("a valid frame");
        match message {
            Message::Text(text) => return serde_json::from_str(&text).unwrap(),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("unexpected frame {other:?}"),
        }
    }
}
