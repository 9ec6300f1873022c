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

impl Cli {
    pub fn command() -> Command {
        Cli::parse().command.unwrap_or(Command::Serve)
    }
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
    let command = Cli::command();
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
