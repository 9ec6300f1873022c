use sea_orm_migration::prelude::*;

use crate::run_all;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Sign-in with an external OpenID Connect provider: the accounts it is linked to (by the
/// provider's issuer and subject) and the sign-ins under way (the state sent to the provider,
/// the browser it was sent from, PKCE verifier and nonce, and the bank's own authorization
/// request to answer when the provider comes back).
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_all(
            manager,
            &[
                "CREATE TABLE external_identities (
                    issuer text NOT NULL,
                    subject text NOT NULL,
                    user_id uuid NOT NULL REFERENCES users (id),
                    email text NOT NULL,
                    created_at timestamptz NOT NULL DEFAULT now(),
                    last_sign_in_at timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (issuer, subject)
                )",
                "CREATE INDEX external_identities_user_idx ON external_identities (user_id)",
                "CREATE TABLE external_sign_ins (
                    state_hash bytea PRIMARY KEY,
                    browser_hash bytea NOT NULL,
                    pkce_verifier text NOT NULL,
                    nonce text NOT NULL,
                    request jsonb NOT NULL,
                    created_at timestamptz NOT NULL DEFAULT now()
                )",
                "CREATE INDEX external_sign_ins_created_idx ON external_sign_ins (created_at)",
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_all(
            manager,
            &[
                "DROP TABLE external_sign_ins",
                "DROP TABLE external_identities",
            ],
        )
        .await
    }
}
