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

/// The bank's federation router: Hive Router with the bank's plugin, composing the six
/// subgraphs of `supergraph.graphql`. It takes no arguments; the environment configures it:
/// ROUTER_CONFIG_FILE_PATH (router/router.config.yaml), PORT, ROUTER_JWKS_URL (the users
/// service's keys), ROUTER_<SUBGRAPH>_URL for users, accounts, transactions, notifications,
/// loans and payments, ROUTER_INTROSPECTION (docs/configuration.md).
#[derive(clap::Parser)]
#[command(name = "bank-router", version, long_about = None)]
struct Cli {}

#[hive_router::main]
async fn main() -> Result<(), RouterInitError> {
    // `--help` and `--version` answer and exit; anything else is refused before starting.
    let Cli {} = clap::Parser::parse();
    init_rustls_crypto_provider();
    router_entrypoint(PluginRegistry::new().register::<auth_errors::AuthErrors>()).await
}

#[cfg(test)]
mod cli_tests {
    use clap::Parser;

    #[test]
    fn help_answers_and_arguments_are_refused() {
        let help = super::Cli::try_parse_from(["bank-router", "--help"])
            .err()
            .unwrap();
        assert_eq!(help.kind(), clap::error::ErrorKind::DisplayHelp);
        assert!(help.to_string().contains("ROUTER_CONFIG_FILE_PATH"));
        assert!(super::Cli::try_parse_from(["bank-router", "serve"]).is_err());
    }
}
