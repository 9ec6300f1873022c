use sea_orm_migration::prelude::*;

use crate::run_all;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// OpenID Connect authorization codes: one per successful sign-in on the login page, stored by
/// hash, bound to the client, its redirect URI and the PKCE challenge, usable once within a
/// minute. `family_id` is the session the code was exchanged for, revoked if the code comes back.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_all(
            manager,
            &["CREATE TABLE authorization_codes (
                code_hash bytea PRIMARY KEY,
                client_id text NOT NULL,
                user_id uuid NOT NULL,
                redirect_uri text NOT NULL,
                code_challenge text NOT NULL,
                nonce text,
                scope text NOT NULL,
                auth_time timestamptz NOT NULL,
                expires_at timestamptz NOT NULL,
                used_at timestamptz,
                family_id uuid
            )"],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_all(manager, &["DROP TABLE authorization_codes"]).await
    }
}
