//! The command line every service binary shares: `serve` (the default), `migrate`, `sdl`,
//! `audit-verify`.

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Subcommand)]
pub enum Command {
    /// Run pending migrations, then serve (the default).
    Serve,
    /// Run pending migrations and exit.
    Migrate,
    /// Print the subgraph's federation SDL and exit (see `make schema`).
    Sdl,
    /// Seal the audit entries waiting, then walk the service's audit chain: exits 1 when an
    /// entry was changed or deleted, the chain has a gap, or an entry was left unsealed.
    AuditVerify,
}

/// The service binary's command line: its name and what it is, then the shared commands.
pub fn command_line(name: &'static str) -> clap::Command {
    use clap::CommandFactory;
    <Cli as CommandFactory>::command()
        .name(name)
        .bin_name(name)
        .about(format!(
            "The bank's {name} service: a GraphQL subgraph over its own PostgreSQL schema \
             (configured by {prefix}_* environment variables, docs/configuration.md)",
            prefix = name.to_uppercase()
        ))
}

/// What every service binary does: `sdl` prints the subgraph's schema (no configuration
/// needed); otherwise telemetry starts, the configuration is read and checked (a bad value
/// stops the service with its variable's name), and `migrate` or `serve` runs.
pub async fn run<Mig, MigFut, Srv, SrvFut>(
    name: &'static str,
    default_port: u16,
    sdl: fn() -> String,
    migrate: Mig,
    serve: Srv,
) -> anyhow::Result<()>
where
    Mig: FnOnce(sea_orm::DatabaseConnection) -> MigFut,
    MigFut: std::future::Future<Output = anyhow::Result<()>>,
    Srv: FnOnce(crate::config::ServiceConfig) -> SrvFut,
    SrvFut: std::future::Future<Output = anyhow::Result<()>>,
{
    let command = {
        use clap::FromArgMatches;
        let matches = command_line(name).get_matches();
        Cli::from_arg_matches(&matches)
            .map_err(|err| err.exit())
            .unwrap_or_else(|never| never)
            .command
            .unwrap_or(Command::Serve)
    };
    if command == Command::Sdl {
        print!("{}", sdl());
        return Ok(());
    }
    crate::telemetry::init(name);
    let config = crate::config::ServiceConfig::from_env(name, default_port)?;
    if command == Command::AuditVerify {
        let db = crate::db::connect(&config.database).await?;
        while crate::audit::seal(&db).await? > 0 {}
        let verification = crate::audit::verify(&db).await?;
        println!(
            "{name}: {} sealed entries, {} unsealed, head {}",
            verification.sealed,
            verification.unsealed,
            verification.head.as_deref().unwrap_or("(empty)")
        );
        for problem in &verification.problems {
            println!("{name}: {problem}");
        }
        if !verification.ok {
            anyhow::bail!("{name}: the audit chain does not verify");
        }
        return Ok(());
    }
    if command == Command::Migrate {
        let db = crate::db::connect(&config.database).await?;
        migrate(db).await?;
        tracing::info!("migrations applied");
        return Ok(());
    }
    serve(config).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_service_answers_help_with_its_name_and_refuses_what_it_does_not_know() {
        let help = command_line("loans")
            .try_get_matches_from(["loans", "--help"])
            .unwrap_err();
        assert_eq!(help.kind(), clap::error::ErrorKind::DisplayHelp);
        let text = help.to_string();
        assert!(text.contains("The bank's loans service") && text.contains("audit-verify"));
        let bogus = command_line("loans")
            .try_get_matches_from(["loans", "bogus"])
            .unwrap_err();
        assert_eq!(bogus.kind(), clap::error::ErrorKind::InvalidSubcommand);
    }
}
