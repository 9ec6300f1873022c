// Every screen when its data cannot be loaded: the browser answers the screen's GraphQL requests
// itself (page.route), first as NGINX does under its rate limit (429), then as the bank does when
// something fails inside it (INTERNAL), then lets them through. Each screen must say to wait,
// then say what went wrong, each time with Try again, and recover on Try again. Signing in does
// the same where the app waits on the bank: the code's exchange at the provider's token endpoint
// (answered as NGINX and the provider do) and loading who signed in.
// The reconciliation page has the same states, tested in bank.test.mjs; the audit trail's
// refusal of anyone but an administrator is tested there too.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { request } from 'playwright-core';
import {
  BANK_URL,
  GRAPHQL_URL,
  TIMEOUT,
  adminCredentials,
  graphqlOperation,
  heading,
  launchChromium,
  openProviderLogin,
  refreshTokenOf,
  registerCustomer,
  signIn,
  submitProviderLogin,
} from './support.mjs';

// The app's words (src/lib/errors.ts).
const RATE_LIMITED = 'Too many attempts in a short time. Please wait a minute and try again.';
const INTERNAL = 'Something went wrong on our side. Nothing was changed twice; please try again.';

/** NGINX's answer under its rate limit, and a failure inside the bank as the router reports it. */
const ANSWERS = {
  rateLimited: {
    status: 429,
    contentType: 'text/html',
    body: '<html><head><title>429 Too Many Requests</title></head><body><center><h1>429 Too Many Requests</h1></center></body></html>',
  },
  /** The provider's token endpoint when it cannot answer (RFC 6749 §5.2). */
  unavailable: {
    status: 503,
    contentType: 'application/json',
    body: JSON.stringify({ error: 'temporarily_unavailable', error_description: 'try again' }),
  },
  failed: {
    status: 200,
    contentType: 'application/json',
    body: JSON.stringify({ data: null, errors: [{ message: 'internal error', extensions: { code: 'INTERNAL' } }] }),
  },
};

let browser;
let api;

before(async () => {
  browser = await launchChromium();
  api = await request.newContext({ baseURL: BANK_URL, ignoreHTTPSErrors: true });
});

after(async () => {
  await api?.dispose();
  await browser?.close();
});

/** A GraphQL request to the bank, asked again for a few seconds while the services catch up. */
async function graphql(query, variables = {}, token) {
  const end = Date.now() + 10_000;
  for (;;) {
    const response = await api.post('/graphql', {
      data: { query, variables },
      headers: token ? { Authorization: `Bearer ${token}` } : {},
    });
    const body = await response.json().catch(() => ({ errors: [{ message: `HTTP ${response.status()}` }] }));
    if (!body.errors?.length && body.data) return body.data;
    if (Date.now() > end) throw new Error(`${query.trim().split('\n')[0]}: ${JSON.stringify(body.errors)}`);
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

/**
 * A customer with an account and a loan application, made through the API (the address
 * confirmed with the e-mailed link, which signs in).
 */
async function customerWithALoan() {
  const email = `ui-states-${randomUUID().slice(0, 12)}@example.com`;
  const password = 'correct horse 42';
  const { token } = await registerCustomer({ email, password, fullName: 'Stella States' });
  const { openAccount } = await graphql(
    'mutation OpenAccount($input: OpenAccountInput!) { openAccount(input: $input) { id number } }',
    { input: { kind: 'CHECKING', currency: 'EUR', nickname: 'Everyday' } },
    token,
  );
  const { loanProducts } = await graphql('{ loanProducts { code currency minAmount { amount } minTermMonths } }', {}, token);
  const product = loanProducts.find((p) => p.currency === 'EUR');
  await graphql(
    'mutation Apply($input: ApplyForLoanInput!) { applyForLoan(input: $input) { id } }',
    {
      input: {
        productCode: product.code,
        accountId: openAccount.id,
        amount: product.minAmount.amount,
        termMonths: product.minTermMonths,
        idempotencyKey: randomUUID(),
      },
    },
    token,
  );
  return { email, password, accountNumber: openAccount.number };
}

/**
 * A page whose GraphQL requests answer as `answers` says, per operation name ('rateLimited',
 * 'failed'), and whose requests to the provider's token endpoint as `answers.get('token')` says
 * ('rateLimited', 'unavailable'); every other request goes through. `passed.token`: how many
 * token requests went through to the provider.
 */
async function pageWithAnswers() {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1024, height: 800 } });
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  const answers = new Map();
  const passed = { token: 0 };
  await page.route(GRAPHQL_URL, (route) => {
    const answer = answers.get(graphqlOperation(route.request()));
    return answer ? route.fulfill(ANSWERS[answer]) : route.continue();
  });
  await page.route(`${BANK_URL}/auth/token`, (route) => {
    const answer = answers.get('token');
    if (answer) return route.fulfill(ANSWERS[answer]);
    passed.token += 1;
    return route.continue();
  });
  return { page, answers, passed };
}

const tryAgain = (page) => page.getByRole('button', { name: 'Try again' });
const rateLimited = (page, text = RATE_LIMITED) => page.getByTestId('rate-limited').getByRole('alert').filter({ hasText: text });
const failed = (page, text) => page.getByTestId('load-failure').getByRole('alert').filter({ hasText: text });

/** Clicks every Try again on the page (from the last: a button clicked leaves those before it in place). */
async function clickEveryTryAgain(page) {
  const buttons = tryAgain(page);
  const count = await buttons.count();
  assert.ok(count > 0, 'a Try again button');
  for (let i = count - 1; i >= 0; i--) await buttons.nth(i).click();
}

/**
 * One screen through its states: `open` shows it with `ops` rate limited (the warning and Try
 * again), Try again while the bank fails (the error and Try again), Try again once the requests
 * go through (`ready` shows, nothing failed is left).
 */
async function throughTheStates(page, answers, { ops, open, ready, error = INTERNAL }) {
  for (const op of ops) answers.set(op, 'rateLimited');
  await open();
  await rateLimited(page).first().waitFor();
  await tryAgain(page).first().waitFor();
  assert.equal(await failed(page, '').count(), 0, 'a rate limit is not shown as an error');

  for (const op of ops) answers.set(op, 'failed');
  await clickEveryTryAgain(page);
  await failed(page, error).first().waitFor();
  await page.getByTestId('rate-limited').first().waitFor({ state: 'detached' });
  await tryAgain(page).first().waitFor();

  for (const op of ops) answers.delete(op);
  await clickEveryTryAgain(page);
  await ready();
  await tryAgain(page).first().waitFor({ state: 'detached' });
  assert.equal(await page.getByTestId('load-failure').count(), 0);
}

const nav = (page, name) => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true });

describe('every screen when the bank is busy or failing', () => {
  test('each screen says to wait under a rate limit, says what failed, and recovers on Try again', async (t) => {
    const customer = await customerWithALoan();
    const { page, answers, passed } = await pageWithAnswers();

    // Signing in: the bank's sign-in page, then /callback exchanges the code at the token
    // endpoint. NGINX's 429 there says to wait and the provider being unavailable says what
    // failed, each with Try again, which exchanges the same code (it was never spent); the user
    // (`SessionUser`) the same with the tokens already exchanged; then the accounts.
    await openProviderLogin(page);
    answers.set('token', 'rateLimited');
    answers.set('Dashboard', 'rateLimited'); // the screen after signing in
    await submitProviderLogin(page, customer);
    await heading(page, 'Signing in').waitFor();
    await rateLimited(page).waitFor();
    answers.set('token', 'unavailable');
    await tryAgain(page).click();
    await failed(page, INTERNAL).waitFor();
    assert.equal(await page.getByTestId('rate-limited').count(), 0);
    answers.delete('token');
    answers.set('SessionUser', 'rateLimited');
    await tryAgain(page).click();
    await page.getByTestId('load-failure').waitFor({ state: 'detached' });
    await rateLimited(page).waitFor();
    answers.set('SessionUser', 'failed');
    await tryAgain(page).click();
    await failed(page, INTERNAL).waitFor();
    answers.delete('SessionUser');
    await tryAgain(page).click();
    await heading(page, 'Your accounts').waitFor();
    assert.ok(await refreshTokenOf(page), 'signed in');
    assert.equal(passed.token, 1, 'the code went to the provider once');

    const screens = [
      {
        name: 'accounts',
        ops: ['Dashboard'],
        open: () => heading(page, 'Your accounts').waitFor(),
        ready: () => page.locator('.account-card').filter({ hasText: 'Everyday' }).waitFor(),
      },
      {
        name: 'account',
        ops: ['Account'],
        open: () => page.getByRole('link', { name: 'Everyday' }).click(),
        ready: () => page.getByTestId('account-number').waitFor(),
      },
      {
        name: 'account history',
        ops: ['Transactions'],
        open: async () => {
          await page.getByRole('link', { name: '← Your accounts' }).click();
          await page.getByRole('link', { name: 'Everyday' }).click();
        },
        ready: () => page.getByText('No transactions yet.').waitFor(),
      },
      {
        name: 'payments',
        ops: ['PaymentsSetup'],
        open: () => nav(page, 'Payments').click(),
        ready: () => page.getByText('You have not sent money to another bank yet.').waitFor(),
      },
      {
        name: 'direct debits',
        ops: ['DirectDebitsSetup'],
        open: () => nav(page, 'Direct debits').click(),
        ready: () => page.getByRole('heading', { name: 'Give a mandate' }).waitFor(),
      },
      {
        name: 'loans',
        ops: ['MyLoans', 'LoanOffers'],
        open: () => nav(page, 'Loans').click(),
        ready: async () => {
          await page.getByTestId('loan').waitFor();
          await page.getByRole('button', { name: 'Apply for this loan' }).waitFor();
        },
      },
      {
        name: 'loan',
        ops: ['Loan'],
        open: () => page.getByTestId('loan').getByRole('link').click(),
        ready: () => page.getByTestId('loan-status').filter({ hasText: 'In review' }).waitFor(),
      },
      {
        name: 'notifications',
        ops: ['Notifications'],
        open: () => page.getByRole('link', { name: /^Notifications/ }).click(),
        ready: () => page.getByTestId('notification').or(page.getByText('No notifications yet.')).first().waitFor(),
      },
      {
        name: 'notification settings',
        ops: ['NotificationPreferences'],
        open: () => page.getByRole('link', { name: 'Notification settings' }).click(),
        ready: () => page.getByRole('button', { name: 'Save settings' }).waitFor(),
      },
    ];
    for (const screen of screens) {
      await t.test(screen.name, () => throughTheStates(page, answers, screen));
    }

    // Opening an account: a rate-limited submission never reached the bank; Try again sends it.
    await nav(page, 'Open account').click();
    await heading(page, 'Open an account').waitFor();
    await page.getByLabel('Nickname (optional)').fill('Rainy day');
    answers.set('OpenAccount', 'rateLimited');
    await page.getByRole('button', { name: 'Open account' }).click();
    await rateLimited(page).waitFor();
    answers.delete('OpenAccount');
    await tryAgain(page).click();
    await heading(page, 'Rainy day').waitFor();
    await page.context().close();

    const admin = adminCredentials();
    if (!admin) {
      t.skip('BANK_ADMIN_EMAIL/BANK_ADMIN_PASSWORD are not set and .data/secrets.env is missing: no staff screens');
      return;
    }
    const staff = await pageWithAnswers();
    await signIn(staff.page, admin);
    const staffScreens = [
      {
        name: 'staff: find an account',
        ops: ['StaffAccountByNumber'],
        open: async () => {
          await nav(staff.page, 'Staff').click();
          await staff.page.getByLabel('Account number or id').fill(customer.accountNumber);
          await staff.page.getByRole('button', { name: 'Find' }).click();
        },
        ready: () => staff.page.getByText('Stella States').waitFor(),
      },
      {
        name: 'staff: loan applications',
        ops: ['LoanApplications'],
        open: () => nav(staff.page, 'Loan applications').click(),
        ready: () => staff.page.getByRole('heading', { name: /^Waiting for a decision \(/ }).waitFor(),
      },
      {
        name: 'staff: audit trail',
        ops: ['AuditLog'],
        open: () => nav(staff.page, 'Audit trail').click(),
        ready: () => staff.page.getByTestId('audit-verdict').waitFor(),
        error: 'The audit trail could not be read just now. Nothing was changed; try again in a moment.',
      },
    ];
    for (const screen of staffScreens) {
      await t.test(screen.name, () => throughTheStates(staff.page, staff.answers, screen));
    }
    await staff.page.context().close();
  });
});
