// openid-client, a certified OpenID Connect relying party, against the bank's provider through
// NGINX: discovery at the issuer, the authorization-code flow with PKCE (the login page posted
// as a browser would), the ID token checked by the library, the access token used on the
// GraphQL API, userinfo, refresh rotation and revocation.
//
// Needs the stack (`make up`) and BANK_URL, BANK_ADMIN_EMAIL, BANK_ADMIN_PASSWORD; the
// development CA in NODE_EXTRA_CA_CERTS (scripts/test.sh sets them).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import './polite-fetch.mjs';
import * as client from 'openid-client';

const base = process.env.BANK_URL ?? 'https://localhost:8443';
const email = process.env.BANK_ADMIN_EMAIL;
const password = process.env.BANK_ADMIN_PASSWORD;
const redirectUri = `${base}/callback`;

/** The login page, answered as a person would: the form's fields, the cookie, the password. */
async function signInOnThePage(authorizationUrl, credentials) {
  const page = await fetch(authorizationUrl, { redirect: 'manual' });
  assert.equal(page.status, 200, 'the login page');
  const cookie = page.headers.get('set-cookie').split(';')[0];
  const html = await page.text();
  const fields = new URLSearchParams();
  for (const [, name, value] of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
    fields.set(name, value.replaceAll('&amp;', '&').replaceAll('&quot;', '"').replaceAll('&#39;', "'").replaceAll('&lt;', '<').replaceAll('&gt;', '>'));
  }
  fields.set('email', credentials.email);
  fields.set('password', credentials.password);
  const action = new URL('authorize', authorizationUrl);
  return fetch(action, {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: fields,
  });
}

test('openid-client discovers the bank, signs in with code + PKCE and calls the API', async () => {
  assert.ok(email && password, 'BANK_ADMIN_EMAIL and BANK_ADMIN_PASSWORD');
  const issuer = new URL(`${base}/auth`);
  const config = await client.discovery(issuer, 'bank-web', undefined, client.None());
  const metadata = config.serverMetadata();
  assert.equal(metadata.issuer, issuer.href.replace(/\/$/, ''));
  assert.ok(metadata.code_challenge_methods_supported.includes('S256'));

  const verifier = client.randomPKCECodeVerifier();
  const challenge = await client.calculatePKCECodeChallenge(verifier);
  const state = client.randomState();
  const nonce = client.randomNonce();
  const authorizationUrl = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: 'openid email profile',
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state,
    nonce,
  });

  const wrong = await signInOnThePage(authorizationUrl, { email, password: 'not the password 1' });
  assert.equal(wrong.status, 401);
  assert.match(await wrong.text(), /wrong e-mail address or password/);

  const answer = await signInOnThePage(authorizationUrl, { email, password });
  assert.equal(answer.status, 303);
  const callback = new URL(answer.headers.get('location'));
  assert.equal(`${callback.origin}${callback.pathname}`, redirectUri);

  const tokens = await client.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: verifier,
    expectedState: state,
    expectedNonce: nonce,
    idTokenExpected: true,
  });
  const claims = tokens.claims();
  assert.equal(claims.email, email);
  assert.equal(claims.email_verified, true);
  assert.ok(claims.auth_time <= claims.iat);

  const me = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { authorization: `Bearer ${tokens.access_token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ query: '{ me { id email roles } }' }),
  }).then((r) => r.json());
  assert.equal(me.data.me.email, email, JSON.stringify(me));
  assert.equal(me.data.me.id, claims.sub);

  const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
  assert.equal(info.email, email);

  // The code works once.
  await assert.rejects(
    client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce }),
    (err) => err.error === 'invalid_grant',
  );

  // Refresh rotates (and the replayed code above revoked the session it was exchanged for).
  await assert.rejects(client.refreshTokenGrant(config, tokens.refresh_token), (err) => err.error === 'invalid_grant');
});

test('refresh rotation and revocation through openid-client', async () => {
  const config = await client.discovery(new URL(`${base}/auth`), 'bank-web', undefined, client.None());
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const authorizationUrl = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: 'openid email',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
  });
  const answer = await signInOnThePage(authorizationUrl, { email, password });
  const tokens = await client.authorizationCodeGrant(config, new URL(answer.headers.get('location')), {
    pkceCodeVerifier: verifier,
    expectedState: state,
  });
  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
  assert.notEqual(refreshed.refresh_token, tokens.refresh_token);
  await client.tokenRevocation(config, refreshed.refresh_token);
  await assert.rejects(client.refreshTokenGrant(config, refreshed.refresh_token), (err) => err.error === 'invalid_grant');
});
