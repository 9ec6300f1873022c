// Opening an account as a person does: the sign-up form only says to look for the e-mail (the
// same words whether or not the address banks here already); the link in the e-mail the bank
// sends (read from the mail catcher's Maildir, BANK_MAIL_DIR) opens the page that asks for the
// password chosen at sign-up, which confirms the address and signs in. A wrong password, a link
// used already, a link without its token and a rate limit each say so, and nobody is signed in.
// Signing in afterwards goes through the bank's sign-in page (the OpenID Connect provider).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import {
  BANK_URL,
  GRAPHQL_URL,
  PROVIDER_HEADING,
  TIMEOUT,
  confirmationLink,
  confirmationLinkIn,
  graphql,
  graphqlOperation,
  heading,
  launchChromium,
  onBank,
  openProviderLogin,
  signIn,
  submitProviderLogin,
  waitForMail,
} from './support.mjs';

const PASSWORD = 'correct horse 42';

// The app's words (src/auth/verification.ts, src/screens/SignIn.tsx).
const REFUSED = 'We could not confirm your address: the password is wrong, or this link has expired or was already used.';
const MISSING = 'This link is incomplete: it has no confirmation code.';
const CONFIRM_FIRST = 'Just signed up? Confirm your address first with the link we e-mailed you.';
// The bank's sign-in page's words (the `login` mutation's): the same for an address not confirmed yet.
const SIGN_IN_REFUSED = 'wrong e-mail address or password, or the address is not confirmed yet';
const RATE_LIMITED = 'Too many attempts in a short time. Please wait a minute and try again.';

/** What `register` answers for `email`, whoever has it (the users service's words). */
const checkYourEmail = (email) => `Check your e-mail: we sent a message to ${email} to finish opening your account.`;

let browser;
const cspViolations = [];

before(async () => {
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
});

async function newPage() {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1024, height: 800 } });
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) cspViolations.push(`${page.url()}: ${message.text()}`);
  });
  return page;
}

const refreshToken = (page) => page.evaluate(() => sessionStorage.getItem('bank.refreshToken'));

/** Fills in the sign-up form and sends it; the time it was sent (for the e-mail that follows). */
async function submitSignUp(page, { fullName, email, password = PASSWORD }) {
  await page.goto(`${BANK_URL}/signup`);
  await heading(page, 'Sign up').waitFor();
  await page.getByLabel('Full name').fill(fullName);
  await page.getByLabel('E-mail address').fill(email);
  await page.getByLabel('Password').fill(password);
  const since = Date.now();
  await page.getByRole('button', { name: 'Sign up' }).click();
  return since;
}

/** The screen after signing up: the bank's message, and still nobody signed in. */
async function expectCheckYourEmail(page, email) {
  await heading(page, 'Check your e-mail').waitFor();
  await page.getByRole('status').filter({ hasText: checkYourEmail(email) }).waitFor();
  assert.equal(await refreshToken(page), null, 'signing up signs nobody in');
  assert.equal(await page.getByRole('button', { name: 'Sign out' }).count(), 0);
}

describe('signing up and confirming the e-mail address', () => {
  const email = `ui-signup-${randomUUID().slice(0, 12)}@example.com`;
  let link;

  test('signing up says to check the e-mail; the link and the password sign in (a wrong password first is refused)', async () => {
    const page = await newPage();
    const since = await submitSignUp(page, { fullName: 'Sam Signup', email });
    await expectCheckYourEmail(page, email);

    // Before the address is confirmed, the bank's sign-in page refuses it like a wrong password
    // (the app's sign-in screen says to confirm first).
    await page.getByRole('link', { name: 'Sign in' }).click();
    await heading(page, 'Sign in').waitFor();
    await page.getByText(CONFIRM_FIRST).waitFor();
    await openProviderLogin(page, { from: null });
    await submitProviderLogin(page, { email, password: PASSWORD });
    await page.locator('p.error[role=alert]').filter({ hasText: SIGN_IN_REFUSED }).waitFor();
    await heading(page, PROVIDER_HEADING).waitFor();
    assert.equal(await refreshToken(page), null);

    // The e-mail the bank sent, and its link.
    ({ link } = await confirmationLink(email, { since }));
    assert.match(new URL(link).pathname, /^\/verify-email$/);
    await page.goto(onBank(link));
    await heading(page, 'Confirm your e-mail address').waitFor();

    // A wrong password: the error, no session, and the form to try again.
    await page.getByLabel('Password').fill('not the password 1');
    await page.getByRole('button', { name: 'Confirm and sign in' }).click();
    await page.getByRole('alert').filter({ hasText: REFUSED }).waitFor();
    assert.equal(await refreshToken(page), null, 'a refused confirmation signs nobody in');
    assert.equal(await page.getByRole('button', { name: 'Sign out' }).count(), 0);
    await page.getByRole('link', { name: 'Sign up again' }).waitFor();
    await heading(page, 'Confirm your e-mail address').waitFor();

    // The right password: signed in, on the accounts overview.
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Confirm and sign in' }).click();
    await heading(page, 'Your accounts').waitFor();
    assert.equal(new URL(page.url()).pathname, '/');
    assert.notEqual(await refreshToken(page), null);
    await page.getByRole('navigation', { name: 'Main' }).getByText('Sam Signup').waitFor();

    // The session is a real one: a reload signs back in with it.
    await page.reload();
    await heading(page, 'Your accounts').waitFor();
    await page.context().close();
  });

  test('the link works once: opened again, it is refused and nobody is signed in', async (t) => {
    if (!link) return t.skip('needs the link of the test before');
    const page = await newPage();
    await page.goto(onBank(link));
    await heading(page, 'Confirm your e-mail address').waitFor();
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Confirm and sign in' }).click();
    await page.getByRole('alert').filter({ hasText: REFUSED }).waitFor();
    assert.equal(await refreshToken(page), null);
    // The confirmed address signs in as usual, through the bank's sign-in page.
    await page.getByRole('link', { name: 'Sign in' }).last().click();
    await signIn(page, { email, password: PASSWORD }, { from: null });
    await page.context().close();
  });

  test('signing up with an address that has an account shows the same message, and the e-mail has no link', async (t) => {
    if (!link) return t.skip('needs the account of the first test');
    const page = await newPage();
    const since = await submitSignUp(page, { fullName: 'Someone Else', email, password: 'another password 7' });
    await expectCheckYourEmail(page, email);
    // The owner is told instead, without a link to confirm anything.
    const mail = await waitForMail(email, { since, matching: (m) => /already/i.test(m.body) });
    assert.equal(confirmationLinkIn(mail.body), undefined);
    assert.match(mail.body, /Someone asked to open an account/);
    // And the account is unchanged: the other password does not sign in, the first one does.
    const wrong = await graphql('mutation($i: LoginInput!) { login(input: $i) { accessToken } }', {
      i: { email, password: 'another password 7' },
    });
    assert.equal(wrong.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
    const right = await graphql('mutation($i: LoginInput!) { login(input: $i) { accessToken } }', {
      i: { email, password: PASSWORD },
    });
    assert.ok(right.data?.login?.accessToken, JSON.stringify(right.errors));
    await page.context().close();
  });

  test('after signing up, "sign up again" goes back to the form with the name and address but not the password', async () => {
    const page = await newPage();
    const fresh = `ui-signup-${randomUUID().slice(0, 12)}@example.com`;
    await submitSignUp(page, { fullName: 'Nina New', email: fresh });
    await expectCheckYourEmail(page, fresh);
    await page.getByRole('button', { name: 'sign up again' }).click();
    await heading(page, 'Sign up').waitFor();
    assert.equal(await page.getByLabel('E-mail address').inputValue(), fresh);
    assert.equal(await page.getByLabel('Full name').inputValue(), 'Nina New');
    assert.equal(await page.getByLabel('Password').inputValue(), '');
    await page.context().close();
  });
});

describe('the confirmation page without a usable link', () => {
  test('a link without its token says so and leads to signing up again', async () => {
    const page = await newPage();
    await page.goto(`${BANK_URL}/verify-email`);
    await heading(page, 'Confirm your e-mail address').waitFor();
    await page.getByRole('alert').filter({ hasText: MISSING }).waitFor();
    assert.equal(await page.getByLabel('Password').count(), 0);
    await page.getByRole('link', { name: 'Sign up again' }).click();
    await heading(page, 'Sign up').waitFor();
    await page.context().close();
  });

  test('an unknown token is refused; a rate limit says to wait, and Try again sends it again', async () => {
    const page = await newPage();
    let limited = true;
    await page.route(GRAPHQL_URL, (route) =>
      limited && graphqlOperation(route.request()) === 'VerifyEmail'
        ? route.fulfill({ status: 429, contentType: 'text/html', body: '<html><body><h1>429 Too Many Requests</h1></body></html>' })
        : route.continue(),
    );
    await page.goto(`${BANK_URL}/verify-email?token=${randomUUID().replaceAll('-', '')}`);
    await heading(page, 'Confirm your e-mail address').waitFor();

    // Nothing typed: the field says what is missing, and nothing is sent.
    await page.getByRole('button', { name: 'Confirm and sign in' }).click();
    await page.getByText('Enter the password you chose when you signed up.', { exact: true }).waitFor();

    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Confirm and sign in' }).click();
    await page.getByTestId('rate-limited').getByRole('alert').filter({ hasText: RATE_LIMITED }).waitFor();
    limited = false;
    await page.getByRole('button', { name: 'Try again' }).click();
    await page.getByRole('alert').filter({ hasText: REFUSED }).waitFor();
    assert.equal(await page.getByTestId('rate-limited').count(), 0);
    assert.equal(await refreshToken(page), null);
    await page.context().close();
  });

  test('no page broke its content security policy', () => {
    assert.deepEqual(cspViolations, []);
  });
});
