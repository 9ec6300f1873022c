#[tokio::main]
async fn main() -> anyhow::Result<()> {
    transactions_subgraph::main().await
}
