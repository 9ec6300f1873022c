//! The command line every service binary shares: `serve` (the default), `migrate`, `sdl`.

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
}

impl Cli {
    pub fn command() -> Command {
        Cli::parse().command.unwrap_or(Command::Serve)
    }
}
