//! Access-token signing: ES256 keys kept in the database (generated at first start) and the
//! JWKS that publishes their public halves.

use std::sync::Arc;

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use chrono::Utc;
use jsonwebtoken::{encode, jwk::JwkSet, EncodingKey, Header};
use openidconnect::{
    core::{CoreJsonCurveType, CoreJsonWebKey, CoreJsonWebKeySet},
    JsonWebKeyId,
};
use p256::{
    elliptic_curve::{rand_core::OsRng, sec1::ToEncodedPoint},
    pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding},
    SecretKey,
};
use sea_orm::{ConnectionTrait, DatabaseConnection, TransactionTrait};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use bank_common::{
    auth::{Claims, Role, ALGORITHM},
    config::AuthConfig,
    ApiError, ApiResult,
};

use crate::store;

/// The key that encrypts the signing keys' private halves at rest (`USERS_KEY_ENCRYPTION_KEY`:
/// 32 bytes, base64). Kept out of `Debug` output.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyEncryptionKey([u8; 32]);

impl std::fmt::Debug for KeyEncryptionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyEncryptionKey(..)")
    }
}

/// How an encrypted private key is stored: this prefix, then base64 of a 24-byte nonce and the
/// XChaCha20-Poly1305 ciphertext of the PEM (the key id as associated data, so a ciphertext
/// cannot be moved to another row).
const SEALED: &str = "enc:v1:";

impl KeyEncryptionKey {
    /// 32 bytes, base64 (standard or URL-safe).
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let text = text.trim();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text)
            .or_else(|_| URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')))
            .map_err(|_| anyhow::anyhow!("not base64"))?;
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|_| anyhow::anyhow!("32 bytes are needed (openssl rand -base64 32)"))?;
        Ok(Self(key))
    }

    fn cipher(&self) -> chacha20poly1305::XChaCha20Poly1305 {
        use chacha20poly1305::KeyInit;
        chacha20poly1305::XChaCha20Poly1305::new((&self.0).into())
    }

    /// The stored form of `pem` for the key `kid`.
    pub fn seal(&self, kid: &str, pem: &str) -> anyhow::Result<String> {
        use chacha20poly1305::{aead::Aead, AeadCore};
        let nonce = chacha20poly1305::XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let ciphertext = self
            .cipher()
            .encrypt(
                &nonce,
                chacha20poly1305::aead::Payload {
                    msg: pem.as_bytes(),
                    aad: kid.as_bytes(),
                },
            )
            .map_err(|_| anyhow::anyhow!("encrypting a signing key failed"))?;
        let mut sealed = nonce.to_vec();
        sealed.extend_from_slice(&ciphertext);
        Ok(format!(
            "{SEALED}{}",
            base64::engine::general_purpose::STANDARD.encode(sealed)
        ))
    }

    /// The PEM of the key `kid` stored as `stored` (sealed by [`KeyEncryptionKey::seal`]).
    pub fn open(&self, kid: &str, stored: &str) -> anyhow::Result<String> {
        use chacha20poly1305::aead::Aead;
        let sealed = base64::engine::general_purpose::STANDARD
            .decode(stored.trim_start_matches(SEALED))
            .map_err(|_| anyhow::anyhow!("the stored key {kid} is damaged"))?;
        anyhow::ensure!(sealed.len() > 24, "the stored key {kid} is damaged");
        let (nonce, ciphertext) = sealed.split_at(24);
        let pem = self
            .cipher()
            .decrypt(
                nonce.into(),
                chacha20poly1305::aead::Payload {
                    msg: ciphertext,
                    aad: kid.as_bytes(),
                },
            )
            .map_err(|_| {
                anyhow::anyhow!(
                    "the signing key {kid} does not decrypt: USERS_KEY_ENCRYPTION_KEY is not the key it was encrypted with"
                )
            })?;
        Ok(String::from_utf8(pem)?)
    }
}

/// A stored private key as PEM: decrypted with `kek`, or as it is if it was stored in plain
/// text (before encryption was configured).
fn private_pem(
    row: &store::signing_keys::Model,
    kek: Option<&KeyEncryptionKey>,
) -> anyhow::Result<String> {
    match (row.private_key_pem.starts_with(SEALED), kek) {
        (true, Some(kek)) => kek.open(&row.kid, &row.private_key_pem),
        (true, None) => anyhow::bail!(
            "the signing keys are encrypted: USERS_KEY_ENCRYPTION_KEY is needed to read them"
        ),
        (false, _) => Ok(row.private_key_pem.clone()),
    }
}

/// The keys this instance signs with and publishes. They change at run time (a rotation, a
/// retirement): [`SigningKeys::reload`] reads them again.
pub struct SigningKeys {
    state: std::sync::RwLock<Arc<KeyState>>,
    kek: Option<KeyEncryptionKey>,
}

struct KeyState {
    kid: String,
    encoding: EncodingKey,
    /// The JWKS document (every unretired key), as served at `/.well-known/jwks.json`.
    jwks_json: serde_json::Value,
}

impl SigningKeys {
    /// Loads the unretired keys, generating the first one if there is none. Replicas starting
    /// together serialise on an advisory lock, so exactly one key is generated.
    ///
    /// With `kek`, private keys are stored encrypted, and keys stored in plain text before are
    /// encrypted now; without it they are stored in plain text (a warning says so), and
    /// encrypted keys cannot be read (start-up fails, saying why).
    pub async fn load_or_create(
        db: &DatabaseConnection,
        kek: Option<KeyEncryptionKey>,
    ) -> anyhow::Result<Self> {
        let txn = db.begin().await?;
        txn.execute_unprepared("SELECT pg_advisory_xact_lock(hashtext('users.signing_keys'))")
            .await?;
        let mut rows = store::active_signing_keys(&txn).await?;
        if rows.is_empty() {
            let (kid, pem) = new_key()?;
            let stored = match &kek {
                Some(kek) => kek.seal(&kid, &pem)?,
                None => pem,
            };
            store::insert_signing_key(&txn, &kid, &stored, Utc::now()).await?;
            tracing::info!(kid, "generated a new access-token signing key");
            rows = store::active_signing_keys(&txn).await?;
        }
        match &kek {
            Some(kek) => {
                // Retired keys too: no private half stays in plain text.
                for row in store::plaintext_signing_keys(&txn, SEALED).await? {
                    let sealed = kek.seal(&row.kid, &row.private_key_pem)?;
                    store::replace_private_key(&txn, &row.kid, &sealed).await?;
                    tracing::info!(kid = row.kid, "a signing key stored in plain text is encrypted now");
                }
                rows = store::active_signing_keys(&txn).await?;
            }
            None => tracing::warn!(
                "the signing keys are stored in plain text: set USERS_KEY_ENCRYPTION_KEY (32 bytes, base64) to encrypt them"
            ),
        }
        txn.commit().await?;
        Ok(Self {
            state: std::sync::RwLock::new(Arc::new(KeyState::from_rows(&rows, kek.as_ref())?)),
            kek,
        })
    }

    /// Generates a key that is published now and signs from `lead` on (once every verifier
    /// has fetched the JWKS again). Returns its id and when it signs from.
    pub async fn rotate(
        &self,
        db: &DatabaseConnection,
        lead: std::time::Duration,
    ) -> anyhow::Result<(String, chrono::DateTime<Utc>)> {
        let (kid, pem) = new_key()?;
        let signs_from = Utc::now() + chrono::TimeDelta::from_std(lead)?;
        let stored = match &self.kek {
            Some(kek) => kek.seal(&kid, &pem)?,
            None => pem,
        };
        store::insert_signing_key(db, &kid, &stored, signs_from).await?;
        tracing::info!(kid, %signs_from, "a new signing key is published; it signs from then");
        Ok((kid, signs_from))
    }

    /// Retires keys replaced more than `grace` ago and reads the keys again. Returns whether
    /// what this instance signs with or publishes changed.
    pub async fn reload(
        &self,
        db: &DatabaseConnection,
        grace: std::time::Duration,
    ) -> anyhow::Result<bool> {
        let retired = store::retire_replaced_keys(db, chrono::TimeDelta::from_std(grace)?).await?;
        if retired > 0 {
            tracing::info!(retired, "signing keys retired: their tokens have expired");
        }
        let rows = store::active_signing_keys(db).await?;
        let next = KeyState::from_rows(&rows, self.kek.as_ref())?;
        let current = self.state();
        if next.kid == current.kid && next.jwks_json == current.jwks_json {
            return Ok(false);
        }
        if next.kid != current.kid {
            tracing::info!(kid = next.kid, "signing with a new key");
        }
        *self.state.write().expect("not poisoned") = Arc::new(next);
        Ok(true)
    }

    fn state(&self) -> Arc<KeyState> {
        self.state.read().expect("not poisoned").clone()
    }

    /// The id of the key that signs new tokens.
    pub fn kid(&self) -> String {
        self.state().kid.clone()
    }

    pub fn jwks_json(&self) -> serde_json::Value {
        self.state().jwks_json.clone()
    }

    /// The same key set, for verifying tokens inside this service.
    pub fn jwk_set(&self) -> anyhow::Result<JwkSet> {
        Ok(serde_json::from_value(self.jwks_json())?)
    }

    /// Signs an access token for `user_id` valid for `ttl_secs`, in the session (refresh-token
    /// family) `session`.
    pub fn issue(
        &self,
        config: &AuthConfig,
        user_id: Uuid,
        roles: Vec<Role>,
        ttl_secs: i64,
        session: Uuid,
    ) -> ApiResult<String> {
        let now = Utc::now().timestamp();
        let claims = Claims {
            iss: config.issuer.clone(),
            aud: config.audience.clone(),
            sub: user_id,
            roles,
            iat: now,
            exp: now + ttl_secs,
            jti: Uuid::new_v4(),
            sid: Some(session),
        };
        let state = self.state();
        let mut header = Header::new(ALGORITHM);
        header.kid = Some(state.kid.clone());
        header.typ = Some(bank_common::auth::ACCESS_TOKEN_TYPE.into());
        encode(&header, &claims, &state.encoding).map_err(ApiError::internal)
    }
}

impl KeyState {
    /// Signs with the newest key whose time has come; publishes every unretired key (those
    /// still to sign included). `rows` are newest first.
    fn from_rows(
        rows: &[store::signing_keys::Model],
        kek: Option<&KeyEncryptionKey>,
    ) -> anyhow::Result<Self> {
        let now = Utc::now();
        let signer = rows
            .iter()
            .find(|row| row.signs_from <= now)
            .or_else(|| rows.last())
            .ok_or_else(|| anyhow::anyhow!("no signing key"))?;
        let mut keys = Vec::with_capacity(rows.len());
        let mut signing_pem = None;
        for row in rows {
            let pem = private_pem(row, kek)?;
            let secret = SecretKey::from_pkcs8_pem(&pem)?;
            keys.push(public_jwk(&secret, &row.kid));
            if row.kid == signer.kid {
                signing_pem = Some(pem);
            }
        }
        let signing_pem = signing_pem.ok_or_else(|| anyhow::anyhow!("no signing key"))?;
        let mut jwks_json = serde_json::to_value(CoreJsonWebKeySet::new(keys))?;
        // openidconnect's JWK type has no setter for `alg`; publish it so clients need not guess.
        if let Some(keys) = jwks_json.get_mut("keys").and_then(|k| k.as_array_mut()) {
            for key in keys {
                key["alg"] = serde_json::Value::from("ES256");
            }
        }
        Ok(Self {
            kid: signer.kid.clone(),
            encoding: EncodingKey::from_ec_pem(signing_pem.as_bytes())?,
            jwks_json,
        })
    }
}

/// A new ES256 key: its id (the RFC 7638 thumbprint) and its PKCS #8 PEM.
fn new_key() -> anyhow::Result<(String, String)> {
    let secret = SecretKey::random(&mut OsRng);
    let pem = secret.to_pkcs8_pem(LineEnding::LF)?;
    Ok((thumbprint(&secret), pem.to_string()))
}

impl SigningKeys {
    /// Signs any claims with the current key (ES256, its `kid`), with the header's `typ`.
    pub fn sign(&self, typ: &str, claims: &impl serde::Serialize) -> ApiResult<String> {
        let state = self.state();
        let mut header = Header::new(ALGORITHM);
        header.kid = Some(state.kid.clone());
        header.typ = Some(typ.to_string());
        encode(&header, claims, &state.encoding).map_err(ApiError::internal)
    }
}

fn public_jwk(secret: &SecretKey, kid: &str) -> CoreJsonWebKey {
    let point = secret.public_key().to_encoded_point(false);
    let x = point.x().map(|x| x.to_vec()).unwrap_or_default();
    let y = point.y().map(|y| y.to_vec()).unwrap_or_default();
    CoreJsonWebKey::new_ec(
        x,
        y,
        CoreJsonCurveType::P256,
        Some(JsonWebKeyId::new(kid.to_string())),
    )
}

/// The RFC 7638 thumbprint of the public key: a stable, content-derived key id.
fn thumbprint(secret: &SecretKey) -> String {
    let point = secret.public_key().to_encoded_point(false);
    let b64 = |bytes: Option<&[u8]>| URL_SAFE_NO_PAD.encode(bytes.unwrap_or_default());
    let canonical = format!(
        r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
        b64(point.x().map(|x| x.as_slice())),
        b64(point.y().map(|y| y.as_slice()))
    );
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

/// A refresh token: 32 random bytes, URL-safe. Only its SHA-256 is stored.
pub fn new_refresh_token() -> (String, Vec<u8>) {
    let bytes: [u8; 32] = rand::random();
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let hash = hash_refresh_token(&token);
    (token, hash)
}

pub fn hash_refresh_token(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbprints_are_stable_and_distinct() {
        let a = SecretKey::random(&mut OsRng);
        let b = SecretKey::random(&mut OsRng);
        assert_eq!(thumbprint(&a), thumbprint(&a));
        assert_ne!(thumbprint(&a), thumbprint(&b));
    }

    #[test]
    fn private_keys_are_sealed_for_their_row_and_open_only_with_their_key() {
        let kek =
            KeyEncryptionKey::parse(&base64::engine::general_purpose::STANDARD.encode([7u8; 32]))
                .unwrap();
        let other =
            KeyEncryptionKey::parse(&base64::engine::general_purpose::STANDARD.encode([8u8; 32]))
                .unwrap();
        let sealed = kek.seal("kid-1", "-----BEGIN PRIVATE KEY-----x").unwrap();
        assert!(sealed.starts_with(SEALED) && !sealed.contains("PRIVATE KEY"));
        assert_ne!(
            sealed,
            kek.seal("kid-1", "-----BEGIN PRIVATE KEY-----x").unwrap(),
            "a fresh nonce"
        );
        assert_eq!(
            kek.open("kid-1", &sealed).unwrap(),
            "-----BEGIN PRIVATE KEY-----x"
        );
        assert!(other.open("kid-1", &sealed).is_err(), "another key");
        assert!(kek.open("kid-2", &sealed).is_err(), "another row");
        assert!(KeyEncryptionKey::parse("c2hvcnQ=").is_err(), "too short");
        assert_eq!(format!("{kek:?}"), "KeyEncryptionKey(..)");
    }

    #[test]
    fn refresh_tokens_are_random_and_hashed() {
        let (first, first_hash) = new_refresh_token();
        let (second, _) = new_refresh_token();
        assert_ne!(first, second);
        assert_eq!(hash_refresh_token(&first), first_hash);
        assert_eq!(first_hash.len(), 32);
    }
}
