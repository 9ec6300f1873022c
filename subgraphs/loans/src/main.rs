#[tokio::main]
async fn main() -> anyhow::Result<()> {
    loans_subgraph::main().await
}
