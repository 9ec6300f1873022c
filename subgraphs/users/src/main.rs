#[tokio::main]
async fn main() -> anyhow::Result<()> {
    users_subgraph::main().await
}
