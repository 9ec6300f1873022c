use sea_orm_migration::prelude::*;

use crate::run_all;

#[derive(DeriveMigrationName)]
pub struct Migration;

// `users` stays a plain table under Citus (on the coordinator): it is small, and the global
// uniqueness of e-mail addresses needs a unique index that a sharded table could not have.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_all(
            manager,
            &[
                "CREATE TABLE users (
                    id uuid PRIMARY KEY,
                    email text NOT NULL,
                    password_hash text NOT NULL,
                    full_name text NOT NULL,
                    roles text[] NOT NULL DEFAULT ARRAY['CUSTOMER'],
                    created_at timestamptz NOT NULL DEFAULT now(),
                    updated_at timestamptz NOT NULL DEFAULT now(),
                    CONSTRAINT users_email_key UNIQUE (email),
                    CONSTRAINT users_email_normalised CHECK (email = lower(btrim(email)))
                )",
                // One row per issued refresh token. Only a SHA-256 of the token is stored.
                // A family is one login; rotation adds a row to it, and reuse of a rotated
                // token revokes the whole family.
                "CREATE TABLE refresh_tokens (
                    id uuid PRIMARY KEY,
                    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                    family_id uuid NOT NULL,
                    token_hash bytea NOT NULL,
                    expires_at timestamptz NOT NULL,
                    created_at timestamptz NOT NULL DEFAULT now(),
                    used_at timestamptz,
                    revoked_at timestamptz,
                    CONSTRAINT refresh_tokens_token_hash_key UNIQUE (token_hash)
                )",
                "CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id)",
                "CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (user_id)",
                // Access-token signing keys (ES256). The newest unretired key signs; every
                // unretired key is published in the JWKS so tokens outlive a rotation.
                "CREATE TABLE signing_keys (
                    kid text PRIMARY KEY,
                    algorithm text NOT NULL,
                    private_key_pem text NOT NULL,
                    created_at timestamptz NOT NULL DEFAULT now(),
                    retired_at timestamptz
                )",
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_all(
            manager,
            &[
                "DROP TABLE signing_keys",
                "DROP TABLE refresh_tokens",
                "DROP TABLE users",
            ],
        )
        .await
    }
}
