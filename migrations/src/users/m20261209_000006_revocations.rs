use sea_orm_migration::prelude::*;

use crate::run_all;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// What no longer counts until the access tokens concerned have expired: ended sessions
/// (`kind = 'session'`, the refresh-token family, which access tokens name as `sid`) and users
/// whose earlier tokens were superseded (`kind = 'user'`, tokens issued before `not_before`).
/// Published to every verifier at `/.well-known/revocations`.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_all(
            manager,
            &["CREATE TABLE revocations (
                kind text NOT NULL CHECK (kind IN ('session', 'user')),
                id uuid NOT NULL,
                not_before timestamptz,
                until timestamptz NOT NULL,
                PRIMARY KEY (kind, id)
            )"],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_all(manager, &["DROP TABLE revocations"]).await
    }
}
