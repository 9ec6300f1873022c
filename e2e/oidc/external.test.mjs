// Sign-in with an external identity provider: openid-client signs in to the bank through
// NGINX, and on the bank's login page follows "Sign in with Demo ID" to a real OpenID Connect
// provider (oidc-provider, e2e/oidc/idp.mjs, started by the stack), signs in there, and comes
// back with a code for the bank's API. A new address becomes a new customer, an address the
// bank knows signs in to that account, an address the provider has not verified is refused,
// and the provider's answer works only in the browser that started the sign-in, once.
//
// Needs the stack (`make up`): BANK_URL, BANK_DEMO_EMAIL, BANK_DEMO_PASSWORD and the
// development CA in NODE_EXTRA_CA_CERTS (scripts/test.sh sets them).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import './polite-fetch.mjs';
import * as client from 'openid-client';

const base = process.env.BANK_URL ?? 'https://localhost:8443';
const redirectUri = `${base}/callback`;

/** A browser's cookies, per origin (paths and expiry are not needed here). */
class Browser {
  constructor() {
    this.jar = new Map();
  }

  /** One request with this browser's cookies; redirects are not followed. */
  async request(url, init = {}) {
    const target = new URL(url);
    const cookies = this.jar.get(target.origin) ?? new Map();
    const headers = { ...(init.headers ?? {}) };
    if (cookies.size) headers.cookie = [...cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const response = await fetch(target, { ...init, headers, redirect: 'manual' });
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';');
      const [name, value] = [pair.slice(0, pair.indexOf('=')).trim(), pair.slice(pair.indexOf('=') + 1)];
      const expired = attributes.some((a) => /^\s*max-age=0\s*$/i.test(a)) || value === '';
      if (expired) cookies.delete(name);
      else cookies.set(name, value);
    }
    this.jar.set(target.origin, cookies);
    return response;
  }

  /**
   * Follows redirects from `url` until a page, or until one goes to `stopAt` (then that URL).
   */
  async follow(url, init = {}, stopAt = redirectUri) {
    let current = new URL(url);
    let response = await this.request(current, init);
    for (let hops = 0; [302, 303, 307].includes(response.status); hops += 1) {
      assert.ok(hops < 20, 'too many redirects');
      const next = new URL(response.headers.get('location'), current);
      if (next.href.startsWith(stopAt)) return { stoppedAt: next };
      current = next;
      response = await this.request(current);
    }
    return { response, url: current, html: await response.text() };
  }
}

function unescape(text) {
  return text.replaceAll('&amp;', '&').replaceAll('&quot;', '"').replaceAll('&#39;', "'").replaceAll('&lt;', '<').replaceAll('&gt;', '>');
}

/** The bank's authorization request, as the web app makes it (openid-client builds it). */
async function authorizationRequest() {
  const config = await client.discovery(new URL(`${base}/auth`), 'bank-web', undefined, client.None());
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: 'openid email profile',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  });
  return { config, url, verifier, state, nonce };
}

/**
 * From the bank's login page through the provider's sign-in and consent pages, as a person
 * would, as `email`; returns the URL the provider sends the browser back to the bank with.
 */
async function signInAtTheProvider(browser, authorizationUrl, email) {
  const page = await browser.follow(authorizationUrl);
  assert.equal(page.response.status, 200, 'the bank login page');
  const link = page.html.match(/<a class="external" href="([^"]+)">Sign in with ([^<]+)<\/a>/);
  assert.ok(link, 'the login page offers the external provider');
  assert.equal(link[2], 'Demo ID');
  const external = new URL(unescape(link[1]), authorizationUrl);
  let at = await browser.follow(external, {}, `${base}/auth/external/callback`);
  for (let step = 0; !at.stoppedAt; step += 1) {
    assert.ok(step < 4, 'the provider kept asking');
    assert.equal(at.response.status, 200, at.html);
    const action = new URL(unescape(at.html.match(/<form[^>]*action="([^"]+)"/)[1]), at.url);
    const prompt = at.html.match(/name="prompt" value="([^"]+)"/)[1];
    const body = new URLSearchParams({ prompt });
    if (prompt === 'login') {
      body.set('login', email);
      body.set('password', 'anything at all');
    }
    at = await browser.follow(
      action,
      { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body },
      `${base}/auth/external/callback`,
    );
  }
  return at.stoppedAt;
}

/** The whole sign-in as `email`: the tokens the bank's client gets. */
async function signInWithTheProvider(email) {
  const request = await authorizationRequest();
  const browser = new Browser();
  const back = await signInAtTheProvider(browser, request.url, email);
  const done = await browser.follow(back);
  assert.ok(done.stoppedAt, `the bank sends the browser to the client: ${done.html}`);
  const tokens = await client.authorizationCodeGrant(request.config, done.stoppedAt, {
    pkceCodeVerifier: request.verifier,
    expectedState: request.state,
    expectedNonce: request.nonce,
    idTokenExpected: true,
  });
  return tokens;
}

async function me(accessToken) {
  const answer = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ query: '{ me { id email roles } }' }),
  }).then((r) => r.json());
  assert.ok(answer.data?.me, JSON.stringify(answer));
  return answer.data.me;
}

test('a new address signs in through the external provider as a new customer, and again as the same one', async () => {
  const email = `ext-${randomUUID().slice(0, 8)}@example.test`;
  const first = await signInWithTheProvider(email);
  assert.equal(first.claims().email, email);
  const who = await me(first.access_token);
  assert.equal(who.email, email);
  assert.deepEqual(who.roles, ['CUSTOMER']);

  const again = await signInWithTheProvider(email);
  assert.equal((await me(again.access_token)).id, who.id, 'linked: the same user');
});

test("an address the bank knows signs in to that user's account", async () => {
  const email = process.env.BANK_DEMO_EMAIL;
  const password = process.env.BANK_DEMO_PASSWORD;
  assert.ok(email && password, 'BANK_DEMO_EMAIL and BANK_DEMO_PASSWORD');
  const login = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      query: 'mutation($i: LoginInput!) { login(input: $i) { user { id } } }',
      variables: { i: { email, password } },
    }),
  }).then((r) => r.json());
  const id = login.data.login.user.id;
  const tokens = await signInWithTheProvider(email);
  assert.equal((await me(tokens.access_token)).id, id);
});

test('an address the provider has not verified is refused', async () => {
  const email = `someone-${randomUUID().slice(0, 8)}@unverified.test`;
  const request = await authorizationRequest();
  const browser = new Browser();
  const back = await signInAtTheProvider(browser, request.url, email);
  const done = await browser.follow(back);
  assert.equal(done.response.status, 403);
  assert.match(done.html, /did not confirm an e-mail address/);
});

test("the provider's answer works only in the browser that started the sign-in, and once", async () => {
  const request = await authorizationRequest();
  const browser = new Browser();
  const back = await signInAtTheProvider(browser, request.url, `ext-${randomUUID().slice(0, 8)}@example.test`);

  const elsewhere = await new Browser().follow(back);
  assert.equal(elsewhere.response.status, 400);
  assert.match(elsewhere.html, /started in another browser/);
  // The attempt spent it: the right browser must start again.
  const replay = await browser.follow(back);
  assert.equal(replay.response.status, 400);
  assert.match(replay.html, /expired or was used/);
});

async function graphql(query, variables, token) {
  const headers = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  return fetch(`${base}/graphql`, { method: 'POST', headers, body: JSON.stringify({ query, variables }) }).then((r) => r.json());
}

const LOGIN = 'mutation($i: LoginInput!) { login(input: $i) { accessToken user { id } } }';

test("a registration nobody confirmed loses its password when the address's owner signs in through the provider", async () => {
  // Someone registers an address that is not theirs and never confirms it...
  const email = `taken-${randomUUID().slice(0, 8)}@example.test`;
  const password = 'squatter password 1';
  const registered = await graphql(
    'mutation($i: RegisterInput!) { register(input: $i) { message } }',
    { i: { email, password, fullName: 'Not The Owner' } },
  );
  assert.ok(registered.data?.register, JSON.stringify(registered));
  // ...the owner signs in with the provider, which has verified the address...
  const tokens = await signInWithTheProvider(email);
  assert.equal((await me(tokens.access_token)).email, email);
  // ...and the password chosen at that registration signs nobody in.
  const squatter = await graphql(LOGIN, { i: { email, password } });
  assert.equal(squatter.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED', JSON.stringify(squatter));
});

test('a disabled user cannot sign in through the provider either', async () => {
  const admin = await graphql(LOGIN, {
    i: { email: process.env.BANK_ADMIN_EMAIL, password: process.env.BANK_ADMIN_PASSWORD },
  });
  const adminToken = admin.data.login.accessToken;
  const email = `ext-${randomUUID().slice(0, 8)}@example.test`;
  const id = (await me((await signInWithTheProvider(email)).access_token)).id;
  const disabled = await graphql(
    'mutation($u: ID!) { disableUser(userId: $u) { disabledAt } }',
    { u: id },
    adminToken,
  );
  assert.ok(disabled.data?.disableUser?.disabledAt, JSON.stringify(disabled));

  const request = await authorizationRequest();
  const browser = new Browser();
  const done = await browser.follow(await signInAtTheProvider(browser, request.url, email));
  assert.equal(done.response.status, 403);
  assert.match(done.html, /This account is disabled/);
});

test('a deleted user signing in through the provider again is a new customer', async () => {
  const admin = await graphql(LOGIN, {
    i: { email: process.env.BANK_ADMIN_EMAIL, password: process.env.BANK_ADMIN_PASSWORD },
  });
  const adminToken = admin.data.login.accessToken;
  const email = `ext-${randomUUID().slice(0, 8)}@example.test`;
  const id = (await me((await signInWithTheProvider(email)).access_token)).id;
  const deleted = await graphql('mutation($u: ID!) { deleteUser(userId: $u) { deletedAt } }', { u: id }, adminToken);
  assert.ok(deleted.data?.deleteUser?.deletedAt, JSON.stringify(deleted));

  const again = await me((await signInWithTheProvider(email)).access_token);
  assert.notEqual(again.id, id, 'the link went with the deleted user');
  assert.equal(again.email, email);
});
