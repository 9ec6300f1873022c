#[tokio::main]
async fn main() -> anyhow::Result<()> {
    payments_subgraph::main().await
}
