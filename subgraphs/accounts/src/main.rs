#[tokio::main]
async fn main() -> anyhow::Result<()> {
    accounts_subgraph::main().await
}
