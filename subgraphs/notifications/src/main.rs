#[tokio::main]
async fn main() -> anyhow::Result<()> {
    notifications_subgraph::main().await
}
