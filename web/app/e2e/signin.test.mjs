// Signing in through the bank's OpenID Connect provider (docs/oidc.md), as a person does: the
// app's Sign in sends the browser to the provider's login page with a PKCE challenge, a state
// and a nonce; the provider sends it back to /callback with a code, which the app exchanges at
// the token endpoint. A wrong password stays on the provider's page; an answer whose state is
// not the tab's, or the provider's error, is refused on /callback; signing out revokes the
// refresh token, which the token endpoint then refuses.
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import {
  BANK_URL,
  GRAPHQL_URL,
  PROVIDER_HEADING,
  TIMEOUT,
  graphqlOperation,
  heading,
  launchChromium,
  openProviderLogin,
  refreshTokenOf,
  registerCustomer,
  signIn,
  submitProviderLogin,
  tokenEndpoint,
} from './support.mjs';

const PASSWORD = 'correct horse 42';
const ISSUER = `${BANK_URL}/auth`;
const SHOTS = new URL('../test-results/', import.meta.url).pathname;

// The app's words (src/auth/authorization.ts).
const STATE_REFUSED = 'This sign-in was refused: it was not started in this browser tab, or it was finished already.';
const CANCELLED = 'Signing in was cancelled. Nobody is signed in.';
// The provider's words for a wrong password (the `login` mutation's).
const WRONG_PASSWORD = 'wrong e-mail address or password';

mkdirSync(SHOTS, { recursive: true });

let browser;
let customer;
const cspViolations = [];

before(async () => {
  browser = await launchChromium();
  const email = `ui-oidc-${randomUUID().slice(0, 12)}@example.com`;
  const { id } = await registerCustomer({ email, password: PASSWORD, fullName: 'Olive Oidc' });
  customer = { email, password: PASSWORD, id };
});

after(async () => {
  await browser?.close();
});

/**
 * A page of its own, recording what the app asks of the provider and of the API: each request
 * to /auth/… (method, path, form) and each GraphQL operation's name.
 */
async function newPage() {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1024, height: 800 } });
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) cspViolations.push(`${page.url()}: ${message.text()}`);
  });
  const auth = [];
  const operations = [];
  page.on('request', (request) => {
    const url = new URL(request.url());
    if (url.pathname.startsWith('/auth/')) {
      const form = request.method() === 'POST' ? Object.fromEntries(new URLSearchParams(request.postData() ?? '')) : {};
      auth.push({ method: request.method(), path: url.pathname, query: Object.fromEntries(url.searchParams), form });
    }
    if (GRAPHQL_URL.test(request.url())) operations.push(graphqlOperation(request));
  });
  return { page, auth, operations };
}

const tokenRequests = (auth) => auth.filter((r) => r.method === 'POST' && r.path === '/auth/token');

describe('signing in through the bank’s sign-in page', () => {
  test('the flow: the sign-in page with PKCE, state and nonce, back through /callback to the accounts', async () => {
    const { page, auth, operations } = await newPage();
    await openProviderLogin(page);

    // The authorization request: the code flow with S256, a fresh state and nonce, back to /callback.
    const authorize = new URL(page.url()).searchParams;
    assert.equal(authorize.get('response_type'), 'code');
    assert.equal(authorize.get('client_id'), 'bank-web');
    assert.equal(authorize.get('redirect_uri'), `${BANK_URL}/callback`);
    assert.deepEqual(authorize.get('scope').split(' ').sort(), ['email', 'openid', 'profile']);
    assert.equal(authorize.get('code_challenge_method'), 'S256');
    assert.match(authorize.get('code_challenge'), /^[A-Za-z0-9_-]{43}$/);
    assert.match(authorize.get('state'), /^[A-Za-z0-9_-]{43}$/);
    assert.match(authorize.get('nonce'), /^[A-Za-z0-9_-]{43}$/);
    assert.equal(await refreshTokenOf(page), null, 'nobody is signed in on the way');

    const callback = page.waitForRequest((request) => new URL(request.url()).pathname === '/callback');
    await submitProviderLogin(page, customer);
    const back = new URL((await callback).url()).searchParams;
    assert.equal(back.get('state'), authorize.get('state'));
    assert.equal(back.get('iss'), ISSUER);
    assert.ok(back.get('code'));

    await heading(page, 'Your accounts').waitFor();
    assert.equal(new URL(page.url()).pathname, '/');
    assert.equal(new URL(page.url()).search, '', 'the code does not stay in the address bar');
    await page.getByRole('navigation', { name: 'Main' }).getByText('Olive Oidc').waitFor();
    assert.ok(await refreshTokenOf(page));
    assert.equal(await page.evaluate(() => sessionStorage.getItem('bank.signIn')), null, 'the pending sign-in is spent');

    // The code went to the token endpoint once, with the verifier of the challenge.
    const [exchange, ...others] = tokenRequests(auth);
    assert.equal(others.length, 0);
    assert.equal(exchange.form.grant_type, 'authorization_code');
    assert.equal(exchange.form.client_id, 'bank-web');
    assert.equal(exchange.form.code, back.get('code'));
    assert.equal(exchange.form.redirect_uri, `${BANK_URL}/callback`);
    assert.match(exchange.form.code_verifier, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(createHash('sha256').update(exchange.form.code_verifier).digest('base64url'), authorize.get('code_challenge'));
    assert.ok(operations.includes('SessionUser'), 'the user is loaded with the access token');
    assert.ok(!operations.includes('Login'), 'no password reaches the API from the app');

    // A reload signs back in with the refresh grant at the token endpoint.
    await page.reload();
    await heading(page, 'Your accounts').waitFor();
    const refreshes = tokenRequests(auth).slice(1);
    assert.equal(refreshes.length, 1);
    assert.equal(refreshes[0].form.grant_type, 'refresh_token');
    assert.ok(!operations.includes('RefreshToken'));
    await page.context().close();
  });

  test("a wrong password stays on the provider's page with its error, and nobody is signed in", async () => {
    const { page, auth } = await newPage();
    await openProviderLogin(page);
    const answer = page.waitForResponse((response) => response.request().method() === 'POST' && new URL(response.url()).pathname === '/auth/authorize');
    await submitProviderLogin(page, { email: customer.email, password: 'not the password 1' });
    assert.equal((await answer).status(), 401);
    await page.locator('p.error[role=alert]').filter({ hasText: WRONG_PASSWORD }).waitFor();
    await heading(page, PROVIDER_HEADING).waitFor();
    assert.equal(new URL(page.url()).pathname, '/auth/authorize');
    assert.equal(tokenRequests(auth).length, 0, 'no code, no exchange');

    // Back in the app: nobody signed in.
    await page.goto(`${BANK_URL}/`);
    await heading(page, 'Sign in').waitFor();
    assert.equal(await refreshTokenOf(page), null);
    assert.equal(await page.getByRole('button', { name: 'Sign out' }).count(), 0);

    // The right password then signs in.
    await signIn(page, customer, { from: null });
    await page.context().close();
  });

  test('an answer whose state was tampered with is refused on /callback; Sign in again starts afresh', async () => {
    const { page, auth } = await newPage();
    await openProviderLogin(page);
    // The provider's redirect to /callback, with the state changed on the way.
    let tampered;
    await page.route(`${BANK_URL}/auth/authorize`, async (route) => {
      if (route.request().method() !== 'POST') return route.continue();
      const response = await route.fetch({ maxRedirects: 0 });
      assert.equal(response.status(), 303);
      const location = new URL(response.headers().location, BANK_URL);
      assert.equal(location.pathname, '/callback');
      location.searchParams.set('state', `${location.searchParams.get('state').slice(0, -2)}xx`);
      tampered = location.toString();
      return route.fulfill({ response, headers: { ...response.headers(), location: tampered } });
    });
    await submitProviderLogin(page, customer);
    await heading(page, 'Signing in').waitFor();
    await page.getByRole('alert').filter({ hasText: STATE_REFUSED }).waitFor();
    assert.equal(page.url(), tampered);
    await page.screenshot({ path: `${SHOTS}sign-in-refused.png`, fullPage: true });
    assert.equal(tokenRequests(auth).length, 0, 'the code is never exchanged');
    assert.equal(await refreshTokenOf(page), null);
    assert.equal(await page.getByRole('button', { name: 'Sign out' }).count(), 0);

    // Opened again (or in another tab), the answer is refused the same way.
    await page.reload();
    await page.getByRole('alert').filter({ hasText: STATE_REFUSED }).waitFor();

    await page.unrouteAll();
    await page.getByRole('button', { name: 'Sign in again' }).click();
    await heading(page, PROVIDER_HEADING).waitFor();
    await submitProviderLogin(page, customer);
    await heading(page, 'Your accounts').waitFor();
    await page.context().close();
  });

  test("the provider's error on /callback says so, and nobody is signed in", async () => {
    const { page, auth } = await newPage();
    await openProviderLogin(page);
    const state = new URL(page.url()).searchParams.get('state');
    await page.goto(`${BANK_URL}/callback?error=access_denied&state=${state}&iss=${encodeURIComponent(ISSUER)}`);
    await page.getByRole('alert').filter({ hasText: CANCELLED }).waitFor();
    assert.equal(tokenRequests(auth).length, 0);
    assert.equal(await refreshTokenOf(page), null);
    await page.getByRole('link', { name: 'Back to signing in' }).click();
    await heading(page, 'Sign in').waitFor();
    await page.context().close();
  });

  test('signing out revokes the refresh token: the token endpoint refuses it afterwards (invalid_grant)', async () => {
    const { page, auth } = await newPage();
    await signIn(page, customer);
    const refreshToken = await refreshTokenOf(page);
    assert.ok(refreshToken);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await heading(page, 'Sign in').waitFor();
    assert.equal(await refreshTokenOf(page), null);
    const revoked = auth.filter((r) => r.path === '/auth/revoke');
    assert.equal(revoked.length, 1);
    assert.deepEqual(revoked[0].form, { token: refreshToken, client_id: 'bank-web' });

    const { status, body } = await tokenEndpoint({ grant_type: 'refresh_token', refresh_token: refreshToken });
    assert.equal(status, 400);
    assert.equal(body?.error, 'invalid_grant');

    // And a reload does not sign back in.
    await page.goto(`${BANK_URL}/`);
    await heading(page, 'Sign in').waitFor();
    await page.context().close();
  });

  test('Sign in with Demo ID: the external provider signs a new customer in, back through /callback', async () => {
    const { page, auth } = await newPage();
    await openProviderLogin(page);
    const email = `ui-ext-${randomUUID().slice(0, 12)}@example.com`;
    await page.getByRole('link', { name: 'Sign in with Demo ID' }).click();
    // The provider's own pages (oidc-provider's sign-in and consent), on its own origin.
    await page.locator('input[name=login]').fill(email);
    await page.locator('input[name=password]').fill('any password at all');
    await page.locator('button[type=submit]').click();
    await page.getByRole('button', { name: 'Continue' }).click();
    await heading(page, 'Your accounts').waitFor();
    assert.equal(new URL(page.url()).pathname, '/');
    assert.ok(await refreshTokenOf(page));
    assert.ok(auth.some((r) => r.path === '/auth/external/callback'), 'back through the bank');
    assert.equal(tokenRequests(auth).length, 1, 'one code, exchanged once');
    // A new customer, named after the address the provider gave.
    await page.getByRole('navigation', { name: 'Main' }).getByText(email.split('@')[0]).waitFor();
    await page.context().close();
  });

  test('no page broke its content security policy', () => {
    assert.deepEqual(cspViolations, []);
  });
});
