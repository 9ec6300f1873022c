// mimalloc rather than glibc's malloc: less CPU per request with many threads allocating
// (docs/benchmarks.md).
#[global_allocator]
static GLOBAL: bank_common::Allocator = bank_common::Allocator;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    payments_subgraph::main().await
}
