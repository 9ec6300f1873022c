// Forgotten and changed passwords, as a person does them. "Forgot your password?" on the sign-in
// screen asks for a link by e-mail (the same answer whether or not the address banks here); the
// link in the e-mail (read from the mail catcher's Maildir, BANK_MAIL_DIR) opens the page that
// sets a new password twice, which signs in; the link works once. Afterwards the bank's sign-in
// page refuses the old password and takes the new one. In the settings, changing the password
// ends every session, this one included, and the app carries on with the new session the bank
// answers with: later pages and a reload still work.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import {
  BANK_URL,
  GRAPHQL_URL,
  PROVIDER_HEADING,
  TIMEOUT,
  graphqlOperation,
  heading,
  launchChromium,
  onBank,
  openProviderLogin,
  refreshTokenOf,
  registerCustomer,
  resetLink,
  signIn,
  submitProviderLogin,
  tokenEndpoint,
} from './support.mjs';

const PASSWORD = 'correct horse 42';
const NEW_PASSWORD = 'battery staple 77';
const NEWER_PASSWORD = 'orange lantern 58';

// The app's words (src/auth/passwords.ts, src/screens/ChangePassword.tsx, src/lib/validation.ts).
const LINK_REFUSED = 'This link has expired or was already used. Reset links work once, for an hour: ask for a new one.';
const MISSING = 'This link is incomplete: it has no reset code.';
const WRONG_CURRENT = 'Your current password is not right. Check it and try again.';
const CHANGED = 'Your password is changed. You stay signed in here; everywhere else you were signed in, you are signed out.';
const NOT_THE_SAME = 'The two passwords are not the same.';
const TOO_SHORT = 'Use at least 10 characters.';
const RATE_LIMITED = 'Too many attempts in a short time. Please wait a minute and try again.';
// The bank's words: requestPasswordReset's answer, a password that is the address, a wrong password.
const linkSent = (email) => `If ${email} has an account, we sent it a link to choose a new password.`;
const IS_THE_ADDRESS = 'The password must not be the e-mail address.';
const WRONG_PASSWORD = 'wrong e-mail address or password';

/** How long a revoked session's access tokens may still be accepted somewhere (docs/oidc.md: about a second). */
const REVOCATION_DELAY_MS = 2_500;

let browser;
const cspViolations = [];

before(async () => {
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
});

/** A page of its own, recording the GraphQL operations it sends. */
async function newPage() {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1024, height: 800 } });
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) cspViolations.push(`${page.url()}: ${message.text()}`);
  });
  const operations = [];
  page.on('request', (request) => {
    if (GRAPHQL_URL.test(request.url())) operations.push({ name: graphqlOperation(request), authorization: request.headers().authorization });
  });
  return { page, operations };
}

/** A confirmed customer of the bank (signed up through the API, the e-mailed link used). */
async function newCustomer(fullName) {
  // A digit in the address: it must pass as a password too (the test of the service's own check).
  const email = `ui-pw-${randomUUID().slice(0, 8)}-1@example.com`;
  const { token } = await registerCustomer({ email, password: PASSWORD, fullName });
  return { email, password: PASSWORD, token };
}

/** Fills in both password fields of a form: the new password and the same again (or `again`). */
async function fillNewPassword(page, password, again = password) {
  await page.getByLabel('New password', { exact: true }).fill(password);
  await page.getByLabel('New password again').fill(again);
}

/** The sign-in page's Sign out, then the bank's sign-in page: the old password refused, the new one signs in. */
async function signOutAndBackIn(page, { email, oldPassword, newPassword }) {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await heading(page, 'Sign in').waitFor();
  assert.equal(await refreshTokenOf(page), null);
  await openProviderLogin(page, { from: null });
  await submitProviderLogin(page, { email, password: oldPassword });
  await page.locator('p.error[role=alert]').filter({ hasText: WRONG_PASSWORD }).waitFor();
  await heading(page, PROVIDER_HEADING).waitFor();
  await submitProviderLogin(page, { email, password: newPassword });
  await heading(page, 'Your accounts').waitFor();
  assert.ok(await refreshTokenOf(page));
}

describe('forgetting the password', () => {
  let customer;
  let link;
  let page;

  before(async () => {
    customer = await newCustomer('Rita Reset');
  });

  after(async () => {
    await page?.context().close();
  });

  test('"Forgot your password?" e-mails a link; its page sets a new password twice and signs in on the accounts', async () => {
    let operations;
    ({ page, operations } = await newPage());
    await page.goto(`${BANK_URL}/signin`);
    await heading(page, 'Sign in').waitFor();
    await page.getByRole('link', { name: 'Forgot your password?' }).click();
    await heading(page, 'Reset your password').waitFor();
    assert.equal(new URL(page.url()).pathname, '/forgot-password');

    // The address is checked before it is sent.
    await page.getByRole('button', { name: 'Send me a link' }).click();
    await page.getByText('Enter your e-mail address, like name@example.com.').waitFor();

    await page.getByLabel('E-mail address').fill(customer.email);
    const since = Date.now();
    await page.getByRole('button', { name: 'Send me a link' }).click();
    await heading(page, 'Check your e-mail').waitFor();
    await page.getByRole('status').filter({ hasText: linkSent(customer.email) }).waitFor();
    assert.equal(await refreshTokenOf(page), null, 'asking for a link signs nobody in');
    const request = operations.find((o) => o.name === 'RequestPasswordReset');
    assert.ok(request, 'the request was sent');
    assert.equal(request.authorization, undefined, 'without a token');

    // The e-mail the bank sent, and its link.
    const mail = await resetLink(customer.email, { since });
    assert.equal(mail.subject, 'Reset your password');
    link = mail.link;
    assert.equal(new URL(link).pathname, '/reset-password');
    await page.goto(onBank(link));
    await heading(page, 'Choose a new password').waitFor();

    // The form's own checks: nothing is sent.
    await fillNewPassword(page, 'short1');
    await page.getByRole('button', { name: 'Set password and sign in' }).click();
    await page.getByText(TOO_SHORT, { exact: true }).waitFor();
    await fillNewPassword(page, NEW_PASSWORD, `${NEW_PASSWORD}!`);
    await page.getByRole('button', { name: 'Set password and sign in' }).click();
    await page.getByText(NOT_THE_SAME, { exact: true }).waitFor();
    assert.equal(operations.filter((o) => o.name === 'ResetPassword').length, 0);

    // The bank's own check (the page cannot know the address): shown next to the field, and the
    // link still works.
    await fillNewPassword(page, customer.email);
    await page.getByRole('button', { name: 'Set password and sign in' }).click();
    await page.getByText(IS_THE_ADDRESS, { exact: true }).waitFor();
    assert.equal(await refreshTokenOf(page), null);

    await fillNewPassword(page, NEW_PASSWORD);
    await page.getByRole('button', { name: 'Set password and sign in' }).click();
    await heading(page, 'Your accounts').waitFor();
    assert.equal(new URL(page.url()).pathname, '/');
    assert.ok(await refreshTokenOf(page));
    await page.getByRole('navigation', { name: 'Main' }).getByText('Rita Reset').waitFor();
    await page.getByText('You have no open accounts yet.').waitFor();
    for (const reset of operations.filter((o) => o.name === 'ResetPassword')) {
      assert.equal(reset.authorization, undefined, 'the reset is sent without a token');
    }

    // The session is a real one: a reload signs back in with it.
    await page.reload();
    await heading(page, 'Your accounts').waitFor();
    await page.getByText('You have no open accounts yet.').waitFor();
  });

  test('the link works once: opened again, it is refused, nobody is signed in, and a new link is offered', async (t) => {
    if (!link) return t.skip('needs the link of the test before');
    const { page: again } = await newPage();
    await again.goto(onBank(link));
    await heading(again, 'Choose a new password').waitFor();
    await fillNewPassword(again, NEWER_PASSWORD);
    await again.getByRole('button', { name: 'Set password and sign in' }).click();
    await again.getByRole('alert').filter({ hasText: LINK_REFUSED }).waitFor();
    assert.equal(await refreshTokenOf(again), null);
    assert.equal(await again.getByRole('button', { name: 'Sign out' }).count(), 0);
    await again.getByRole('link', { name: 'Ask for a new link' }).click();
    await heading(again, 'Reset your password').waitFor();
    await again.context().close();
  });

  test('signed out, the bank’s sign-in page refuses the old password and takes the new one', async (t) => {
    if (!page || !(await refreshTokenOf(page))) return t.skip('needs the session of the first test');
    await signOutAndBackIn(page, { email: customer.email, oldPassword: PASSWORD, newPassword: NEW_PASSWORD });
  });

  test('an address without an account gets the same answer', async () => {
    const { page: other } = await newPage();
    const nobody = `ui-pw-nobody-${randomUUID().slice(0, 8)}@example.com`;
    await other.goto(`${BANK_URL}/forgot-password`);
    await heading(other, 'Reset your password').waitFor();
    await other.getByLabel('E-mail address').fill(nobody);
    await other.getByRole('button', { name: 'Send me a link' }).click();
    await heading(other, 'Check your e-mail').waitFor();
    await other.getByRole('status').filter({ hasText: linkSent(nobody) }).waitFor();
    await other.context().close();
  });
});

describe('the reset page without a usable link', () => {
  test('a link without its token says so and leads to asking for a new one', async () => {
    const { page } = await newPage();
    await page.goto(`${BANK_URL}/reset-password`);
    await heading(page, 'Choose a new password').waitFor();
    await page.getByRole('alert').filter({ hasText: MISSING }).waitFor();
    assert.equal(await page.getByLabel('New password', { exact: true }).count(), 0);
    await page.getByRole('link', { name: 'Ask for a new link' }).click();
    await heading(page, 'Reset your password').waitFor();
    await page.context().close();
  });

  test('a rate limit says to wait, and Try again sends it again; an unknown link is refused', async () => {
    const { page } = await newPage();
    let limited = true;
    await page.route(GRAPHQL_URL, (route) =>
      limited && graphqlOperation(route.request()) === 'ResetPassword'
        ? route.fulfill({ status: 429, contentType: 'text/html', body: '<html><body><h1>429 Too Many Requests</h1></body></html>' })
        : route.continue(),
    );
    await page.goto(`${BANK_URL}/reset-password?token=${randomUUID().replaceAll('-', '')}`);
    await heading(page, 'Choose a new password').waitFor();
    await fillNewPassword(page, NEW_PASSWORD);
    await page.getByRole('button', { name: 'Set password and sign in' }).click();
    await page.getByTestId('rate-limited').getByRole('alert').filter({ hasText: RATE_LIMITED }).waitFor();
    limited = false;
    await page.getByRole('button', { name: 'Try again' }).click();
    await page.getByRole('alert').filter({ hasText: LINK_REFUSED }).waitFor();
    assert.equal(await page.getByTestId('rate-limited').count(), 0);
    await page.getByRole('link', { name: 'Ask for a new link' }).waitFor();
    assert.equal(await refreshTokenOf(page), null);
    await page.context().close();
  });
});

describe('changing the password in the settings', () => {
  let customer;

  before(async () => {
    customer = await newCustomer('Chloe Example');
  });

  test('a wrong current password is refused; the right one changes it, and the app stays signed in with the new session', async () => {
    const { page, operations } = await newPage();
    await signIn(page, customer);

    // Beside the notification settings.
    await page.getByRole('link', { name: /^Notifications/ }).click();
    await page.getByRole('link', { name: 'Notification settings' }).click();
    await heading(page, 'Notification settings').waitFor();
    await page.getByRole('link', { name: 'Change password' }).click();
    await heading(page, 'Change password').waitFor();
    assert.equal(new URL(page.url()).pathname, '/settings/password');
    const before = await refreshTokenOf(page);

    // The form's own checks: nothing is sent.
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.getByText('Enter your current password.', { exact: true }).waitFor();
    await page.getByLabel('Current password').fill(customer.password);
    await fillNewPassword(page, NEW_PASSWORD, NEWER_PASSWORD);
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.getByText(NOT_THE_SAME, { exact: true }).waitFor();
    assert.equal(operations.filter((o) => o.name === 'ChangePassword').length, 0);

    // A wrong current password: said next to it, and still signed in with the same session.
    await page.getByLabel('Current password').fill('not the password 1');
    await fillNewPassword(page, NEW_PASSWORD);
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.getByText(WRONG_CURRENT, { exact: true }).waitFor();
    assert.equal(await refreshTokenOf(page), before);
    await page.getByRole('button', { name: 'Sign out' }).waitFor();

    // The right one: changed, and this tab carries on with the new session.
    await page.getByLabel('Current password').fill(customer.password);
    await fillNewPassword(page, NEW_PASSWORD);
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.getByRole('status').filter({ hasText: CHANGED }).waitFor();
    const after = await refreshTokenOf(page);
    assert.ok(after);
    assert.notEqual(after, before, 'the new session’s refresh token replaced the old one');
    assert.equal(await page.getByLabel('Current password').inputValue(), '');

    // The old session ended: its refresh token is refused.
    const { status, body } = await tokenEndpoint({ grant_type: 'refresh_token', refresh_token: before });
    assert.equal(status, 400);
    assert.equal(body?.error, 'invalid_grant');

    // Once the old session's access tokens are refused everywhere, the app still works: the next
    // page loads with the new access token, and a reload signs back in with the new refresh token.
    await page.waitForTimeout(REVOCATION_DELAY_MS);
    const dashboard = page.waitForResponse((response) => GRAPHQL_URL.test(response.url()) && graphqlOperation(response.request()) === 'Dashboard');
    await page.getByRole('link', { name: 'Accounts', exact: true }).click();
    await heading(page, 'Your accounts').waitFor();
    const answer = await (await dashboard).json();
    assert.ok(answer.data?.me, JSON.stringify(answer.errors));
    await page.getByText('You have no open accounts yet.').waitFor();
    assert.equal(await refreshTokenOf(page), after);
    await page.reload();
    await heading(page, 'Your accounts').waitFor();
    await page.getByText('You have no open accounts yet.').waitFor();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();

    // Signed out, the bank's sign-in page refuses the old password and takes the new one.
    await signOutAndBackIn(page, { email: customer.email, oldPassword: customer.password, newPassword: NEW_PASSWORD });
    await page.context().close();
  });

  test('no page broke its content security policy', () => {
    assert.deepEqual(cspViolations, []);
  });
});
