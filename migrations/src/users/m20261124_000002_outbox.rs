use sea_orm_migration::prelude::*;

use crate::{run_all, OUTBOX};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The outbox for user events (registered).
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_all(manager, OUTBOX).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_all(manager, &["DROP TABLE outbox"]).await
    }
}
