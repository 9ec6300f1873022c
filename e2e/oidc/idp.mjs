// A demo external identity provider: oidc-provider (a certified OpenID Connect provider)
// with its development sign-in pages, started on loopback by scripts/stack.sh so that the
// bank's "Sign in with …" can be tried and tested. Any e-mail address signs in with any
// password, and the provider says the address is verified, except for addresses at
// unverified.test (so that a provider that has not verified an address can be tested too).
//
// IDP_PORT (4092), IDP_CLIENT_ID (bank), IDP_CLIENT_SECRET (required), IDP_REDIRECT_URIS
// (comma-separated; the bank's <issuer>/external/callback).
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import Provider from 'oidc-provider';

const port = Number(process.env.IDP_PORT ?? 4092);
const issuer = `http://127.0.0.1:${port}`;
const secret = process.env.IDP_CLIENT_SECRET;
if (!secret) {
  console.error('IDP_CLIENT_SECRET is required');
  process.exit(2);
}
const redirectUris = (process.env.IDP_REDIRECT_URIS ?? 'https://localhost:8443/auth/external/callback')
  .split(',')
  .map((uri) => uri.trim())
  .filter(Boolean);

// A signing key of its own, new at every start (the bank fetches the JWKS again when an ID
// token names a key it has not seen).
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: 'jwk' }), use: 'sig', alg: 'RS256', kid: `demo-${Date.now()}` };

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: process.env.IDP_CLIENT_ID ?? 'bank',
      client_secret: secret,
      redirect_uris: redirectUris,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  jwks: { keys: [jwk] },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  pkce: { required: () => true },
  features: { devInteractions: { enabled: true } },
  async findAccount(_ctx, id) {
    const email = String(id).trim().toLowerCase();
    return {
      accountId: id,
      async claims() {
        return {
          sub: id,
          email,
          email_verified: !email.endsWith('@unverified.test'),
          name: email.split('@')[0],
        };
      },
    };
  },
});

provider.listen(port, '127.0.0.1', () => {
  console.log(`demo identity provider at ${issuer} for ${redirectUris.join(', ')}`);
});
