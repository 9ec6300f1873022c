//! The bank's federation router: Hive Router, configured by `router.config.yaml`,
//! plus the one behaviour it lacks (see [`auth_errors`]).

// ntex's middleware types need a deeper recursion limit, as Hive Router's own binary does.
#![recursion_limit = "256"]

mod auth_errors;

// `#[hive_router::main]` expands to paths under `ntex`.
use hive_router::ntex;
use hive_router::{
    configure_global_allocator, error::RouterInitError, init_rustls_crypto_provider,
    router_entrypoint, PluginRegistry, RouterGlobalAllocator,
};

configure_global_allocator!();

#[hive_router::main]
async fn main() -> Result<(), RouterInitError> {
    init_rustls_crypto_provider();
    router_entrypoint(PluginRegistry::new().register::<auth_errors::AuthErrors>()).await
}
