// UI end-to-end tests: Debian's headless Chromium, driven by playwright-core, against the running
// stack through NGINX (BANK_URL, default https://localhost:8443). Run with `npm run test:e2e`.
// The direct debit tests play the creditor through the stand-in payment gateway (BANK_GATEWAY_URL,
// default http://127.0.0.1:4091). Customers confirm their address with the link from the e-mail
// the bank sends, read from the mail catcher's Maildir (BANK_MAIL_DIR, default .data/mail), and
// their phone number with the code it texts, read from the SMS log (BANK_SMS_LOG, default
// .data/sms.log). Signing in goes through the bank's sign-in page (the OpenID Connect provider;
// support.mjs's signIn).
// Screenshots of the main screens go to test-results/ (not committed); with BANK_SCREENSHOTS=1
// the README's go to docs/screenshots/.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import {
  BANK_URL,
  GRAPHQL_URL,
  TIMEOUT,
  adminCredentials,
  apiSignIn,
  confirmationLink,
  graphql,
  graphqlOperation,
  heading,
  launchChromium,
  onBank,
  phoneCode,
  readmeShot,
  registerCustomer,
  signIn,
  smsLogEnd,
  testPhoneNumber,
} from './support.mjs';

const GATEWAY_URL = (process.env.BANK_GATEWAY_URL ?? 'http://127.0.0.1:4091').replace(/\/$/, '');
const SHOTS = new URL('../test-results/', import.meta.url).pathname;
const PASSWORD = 'correct horse 42';

mkdirSync(SHOTS, { recursive: true });

let browser;

before(async () => {
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
});

// Everything the browser refused under the pages' Content-Security-Policy, on any page of any
// test; the last test checks that there was nothing.
const cspViolations = [];

async function newPage(viewport = { width: 1024, height: 800 }) {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport });
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) cspViolations.push(`${page.url()}: ${message.text()}`);
  });
  return page;
}

const shot = (page, name) => page.screenshot({ path: `${SHOTS}${name}.png`, fullPage: true });

/**
 * A new customer, as a person opens an account: the sign-up form, then the link from the e-mail
 * the bank sends (read from the mail catcher) and the password, which signs in.
 */
async function signUp(page, fullName, screenshot) {
  const email = `ui-${randomUUID().slice(0, 12)}@example.com`;
  await page.goto(`${BANK_URL}/signup`);
  await heading(page, 'Sign up').waitFor();
  await page.getByLabel('Full name').fill(fullName);
  await page.getByLabel('E-mail address').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  if (screenshot) await shot(page, screenshot);
  const since = Date.now();
  await page.getByRole('button', { name: 'Sign up' }).click();
  await heading(page, 'Check your e-mail').waitFor();
  if (screenshot) await shot(page, `${screenshot}-check-your-email`);
  const { link } = await confirmationLink(email, { since });
  await page.goto(onBank(link));
  await heading(page, 'Confirm your e-mail address').waitFor();
  await page.getByLabel('Password').fill(PASSWORD);
  if (screenshot) await shot(page, `${screenshot}-confirm`);
  await page.getByRole('button', { name: 'Confirm and sign in' }).click();
  await heading(page, 'Your accounts').waitFor();
  return email;
}

async function openAccount(page, { currency, nickname }, screenshot) {
  await page.getByRole('link', { name: 'Open an account' }).click();
  await heading(page, 'Open an account').waitFor();
  await page.getByLabel('Currency').selectOption(currency);
  await page.getByLabel('Nickname (optional)').fill(nickname);
  if (screenshot) await shot(page, screenshot);
  await page.getByRole('button', { name: 'Open account' }).click();
  await heading(page, nickname).waitFor();
  return (await page.getByTestId('account-number').textContent()).trim();
}

async function moveMoney(page, action, amount, { to } = {}) {
  await page.getByRole('radio', { name: action }).check();
  if (to) await page.getByLabel("Recipient's account number").fill(to);
  await page.getByLabel(/^Amount/).fill(amount);
  const button = { Deposit: 'Deposit', Withdraw: 'Withdraw', Transfer: 'Send money' }[action];
  await page.getByRole('button', { name: button, exact: true }).click();
}

const balance = (page) => page.getByTestId('balance').first();

const exactly = (text) => new RegExp(`^\\s*${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*$`);

async function expectBalance(page, text) {
  // Exactly: "80.00 EUR" contains "0.00 EUR".
  await page.getByTestId('balance').filter({ hasText: exactly(text) }).first().waitFor();
  assert.equal((await balance(page).textContent()).trim(), text);
}

describe('the bank in a browser', () => {
  let alice;
  let bob;
  let bobNumber;
  let aliceNumber;

  test('two customers sign up in two browsers and open accounts', async () => {
    alice = await newPage();
    bob = await newPage({ width: 375, height: 740 }); // a phone-sized screen
    await signUp(alice, 'Alice Example', 'sign-up');
    await shot(alice, 'dashboard-empty');
    aliceNumber = await openAccount(alice, { currency: 'EUR', nickname: 'Everyday' }, 'open-account');
    await signUp(bob, 'Bob Example');
    bobNumber = await openAccount(bob, { currency: 'EUR', nickname: 'Savings pot' });
    assert.match(aliceNumber, /^[A-Z]{2}\d{2}[A-Z0-9 ]+$/);
    assert.notEqual(aliceNumber, bobNumber);
  });

  test('a deposit shows its result and the new balance; a double click moves money once', async () => {
    await moveMoney(alice, 'Deposit', '100');
    await alice.getByTestId('toast').filter({ hasText: 'Deposited 100.00 EUR.' }).waitFor();
    await expectBalance(alice, '100.00 EUR');

    await alice.getByRole('radio', { name: 'Deposit' }).check();
    await alice.getByLabel(/^Amount/).fill('10');
    await alice.getByRole('button', { name: 'Deposit', exact: true }).dblclick();
    await alice.getByTestId('toast').filter({ hasText: 'Deposited 10.00 EUR.' }).first().waitFor();
    await expectBalance(alice, '110.00 EUR');
    // Give a second (wrong) deposit time to land, then check the ledger moved money once.
    await alice.waitForTimeout(1000);
    await alice.reload();
    await expectBalance(alice, '110.00 EUR');
    await alice.locator('.transaction').filter({ hasText: '+100.00 EUR' }).waitFor();
    assert.equal(await alice.locator('.transaction').count(), 2);
    assert.equal(await alice.locator('.transaction').filter({ hasText: '+10.00 EUR' }).count(), 1);
  });

  test('a transfer to the other customer; the recipient sees the new balance after a reload', async () => {
    await moveMoney(alice, 'Transfer', '25.50', { to: bobNumber });
    await alice.getByTestId('toast').filter({ hasText: 'Sent 25.50 EUR.' }).waitFor();
    await expectBalance(alice, '84.50 EUR');
    await alice.locator('.transaction').filter({ hasText: '-25.50 EUR' }).waitFor();
    await shot(alice, 'account-detail');
    await readmeShot(alice, 'account-detail', { fullPage: true });

    await bob.reload();
    await expectBalance(bob, '25.50 EUR');
    await bob.locator('.transaction').filter({ hasText: '+25.50 EUR' }).waitFor();
    await shot(bob, 'account-detail-phone');
    await bob.getByRole('link', { name: '← Your accounts' }).click();
    await heading(bob, 'Your accounts').waitFor();
    await expectBalance(bob, '25.50 EUR');
    await shot(bob, 'dashboard-phone');
    await shot(alice, 'dashboard');
  });

  test('the recipient sees a live alert toast, the new balance and one more unread notification without a reload', async () => {
    // Bob stays on his dashboard; nothing on his page reloads from here on.
    await heading(bob, 'Your accounts').waitFor();
    const unread = bob.getByTestId('unread-count');
    await unread.filter({ hasText: /^1$/ }).waitFor(); // the 25.50 EUR transfer
    await bob.evaluate(() => {
      window.__sameDocument = true;
    });

    await moveMoney(alice, 'Transfer', '1', { to: bobNumber });
    await alice.getByTestId('toast').filter({ hasText: 'Sent 1.00 EUR.' }).waitFor();
    await expectBalance(alice, '83.50 EUR');

    const toast = bob.getByTestId('toast').filter({ hasText: 'Received 1.00 EUR on Savings pot. Balance 26.50 EUR.' });
    await toast.waitFor();
    await expectBalance(bob, '26.50 EUR');
    await unread.filter({ hasText: /^2$/ }).waitFor();
    assert.equal(await bob.evaluate(() => window.__sameDocument), true, 'the page was not reloaded');
    await shot(bob, 'live-alert-phone');
  });

  test('the notification centre lists, filters, pages and marks read; settings are checked and saved, the phone number once its code is entered', async () => {
    await bob.getByRole('link', { name: /^Notifications/ }).click();
    await heading(bob, 'Notifications').waitFor();
    const items = bob.getByTestId('notification');
    await items.filter({ hasText: 'You received 1.00 EUR' }).waitFor();
    await items.filter({ hasText: 'You received 25.50 EUR' }).waitFor();
    assert.equal(await items.count(), 2);
    await bob.getByText('2 unread.').waitFor();
    await shot(bob, 'notifications-phone');
    await readmeShot(bob, 'notifications');

    await bob.getByRole('button', { name: 'Mark “You received 1.00 EUR” as read' }).click();
    await bob.getByText('1 unread.').waitFor();
    await bob.getByTestId('unread-count').filter({ hasText: /^1$/ }).waitFor();
    await bob.getByLabel('Show unread only').check();
    await items.filter({ hasText: 'You received 25.50 EUR' }).waitFor();
    await bob.waitForFunction(() => document.querySelectorAll('[data-testid="notification"]').length === 1);
    await bob.getByRole('button', { name: 'Mark all as read' }).click();
    await bob.getByText('Nothing unread.').waitFor();
    await bob.waitForFunction(() => !document.querySelector('[data-testid="unread-count"]'));
    await bob.getByLabel('Show unread only').uncheck();
    await items.nth(1).waitFor();

    await bob.getByRole('link', { name: 'Notification settings' }).click();
    await heading(bob, 'Notification settings').waitFor();
    assert.equal(await bob.getByLabel('In the app (notification centre)').isChecked(), true);
    await bob.getByTestId('phone-confirmed').filter({ hasText: 'You have no phone number with us, so no texts are sent.' }).waitFor();
    await bob.getByLabel('By text message (SMS)').check();
    await bob.getByRole('button', { name: 'Save settings' }).click();
    await bob.getByText('Text messages need a phone number.').waitFor();
    const phone = testPhoneNumber();
    await bob.getByLabel('Phone number for text messages').fill(`${phone.slice(0, 3)} ${phone.slice(3, 7)} ${phone.slice(7)}`);
    await bob.getByLabel('Alert threshold').fill('1.5');
    await bob.getByRole('button', { name: 'Save settings' }).click();
    await bob.getByText('Enter a whole number, 0 or more.').waitFor();
    await bob.getByLabel('Alert threshold').fill('0');
    const from = smsLogEnd();
    await bob.getByRole('button', { name: 'Save settings' }).click();
    await bob.getByTestId('toast').filter({ hasText: `Notification settings saved. We texted a code to ${phone}` }).waitFor();
    // Not the number texts go to until its code is entered.
    await bob.getByTestId('phone-confirmed').filter({ hasText: 'No phone number is confirmed yet, so no texts are sent.' }).waitFor();
    await bob.getByTestId('phone-pending').filter({ hasText: `Waiting for the code sent to ${phone}.` }).waitFor();
    const confirm = bob.getByTestId('confirm-phone');
    await confirm.getByText(`We texted a six-digit code to ${phone}.`).waitFor();
    await shot(bob, 'notification-settings-phone');
    const code = await phoneCode(phone, { from });
    await confirm.getByLabel('Confirmation code').fill(code);
    await confirm.getByRole('button', { name: 'Confirm' }).click();
    await bob.getByTestId('toast').filter({ hasText: `Phone number confirmed: texts go to ${phone}.` }).waitFor();
    await confirm.waitFor({ state: 'detached' });
    await bob.reload();
    await heading(bob, 'Notification settings').waitFor();
    assert.equal(await bob.getByLabel('Phone number for text messages').inputValue(), phone);
    await bob.getByTestId('phone-confirmed').filter({ hasText: `Texts go to ${phone}.` }).waitFor();
    assert.equal(await bob.getByTestId('phone-pending').count(), 0);
    assert.equal(await bob.getByTestId('confirm-phone').count(), 0);
    assert.equal(await bob.getByLabel('By text message (SMS)').isChecked(), true);
    await bob.getByLabel('By text message (SMS)').uncheck();
    await bob.getByLabel('Phone number for text messages').fill('');
    await bob.getByRole('button', { name: 'Save settings' }).click();
    await bob.getByTestId('toast').filter({ hasText: 'Notification settings saved.' }).waitFor();
    await bob.getByTestId('phone-confirmed').filter({ hasText: 'You have no phone number with us, so no texts are sent.' }).waitFor();
  });

  test('a wrong code says how many tries are left and the number stays waiting; a new code confirms it', async () => {
    // Bob is on the settings page, without a phone number (the test before).
    await heading(bob, 'Notification settings').waitFor();
    const confirms = [];
    const listener = (request) => {
      if (GRAPHQL_URL.test(request.url()) && graphqlOperation(request) === 'ConfirmPhoneNumber') confirms.push(request);
    };
    bob.on('request', listener);
    const phone = testPhoneNumber();
    await bob.getByLabel('Phone number for text messages').fill(phone);
    let from = smsLogEnd();
    await bob.getByRole('button', { name: 'Save settings' }).click();
    const confirm = bob.getByTestId('confirm-phone');
    await confirm.getByText(`We texted a six-digit code to ${phone}.`).waitFor();
    const code = await phoneCode(phone, { from });

    // Not six digits: named next to the field, and nothing is sent.
    await confirm.getByLabel('Confirmation code').fill('12 345');
    await confirm.getByRole('button', { name: 'Confirm' }).click();
    await confirm.getByText('The code is the six digits we texted to you.').waitFor();
    assert.equal(confirms.length, 0);

    const wrong = String((Number(code) + 1) % 1_000_000).padStart(6, '0');
    await confirm.getByLabel('Confirmation code').fill(wrong);
    await confirm.getByRole('button', { name: 'Confirm' }).click();
    await confirm.getByText('Wrong code: 4 tries left.').waitFor();
    assert.equal(confirms.length, 1);
    assert.equal(await confirm.getByLabel('Confirmation code').getAttribute('aria-invalid'), 'true');
    await shot(bob, 'notification-settings-wrong-code');

    // Still waiting after a reload: no number texts go to, the code is asked for again.
    await bob.reload();
    await heading(bob, 'Notification settings').waitFor();
    await bob.getByTestId('phone-confirmed').filter({ hasText: 'No phone number is confirmed yet, so no texts are sent.' }).waitFor();
    await bob.getByTestId('phone-pending').filter({ hasText: `Waiting for the code sent to ${phone}.` }).waitFor();
    assert.equal(await bob.getByLabel('Phone number for text messages').inputValue(), phone);
    // Turning texts on needs the number confirmed first.
    await bob.getByLabel('By text message (SMS)').check();
    await bob.getByRole('button', { name: 'Save settings' }).click();
    await bob.getByText(`Texts start once the number is confirmed: enter the code we texted to ${phone} first.`).waitFor();
    await bob.getByLabel('By text message (SMS)').uncheck();

    // A new code: the number saved again. The latest code confirms it.
    from = smsLogEnd();
    await confirm.getByRole('button', { name: 'Send a new code' }).click();
    await bob.getByTestId('toast').filter({ hasText: `We texted a new code to ${phone}.` }).waitFor();
    const newCode = await phoneCode(phone, { from });
    await confirm.getByLabel('Confirmation code').fill(newCode);
    await confirm.getByRole('button', { name: 'Confirm' }).click();
    await bob.getByTestId('toast').filter({ hasText: `Phone number confirmed: texts go to ${phone}.` }).waitFor();
    await bob.getByTestId('phone-confirmed').filter({ hasText: `Texts go to ${phone}.` }).waitFor();
    await confirm.waitFor({ state: 'detached' });
    await bob.reload();
    await heading(bob, 'Notification settings').waitFor();
    await bob.getByTestId('phone-confirmed').filter({ hasText: `Texts go to ${phone}.` }).waitFor();
    assert.equal(await bob.getByTestId('phone-pending').count(), 0);
    assert.equal(confirms.length, 2);
    bob.off('request', listener);
  });

  test('an insufficient-funds transfer shows its message and moves nothing', async () => {
    await alice.getByRole('link', { name: '← Your accounts' }).click();
    await heading(alice, 'Your accounts').waitFor();
    await alice.getByRole('link', { name: 'Everyday' }).click();
    await heading(alice, 'Everyday').waitFor();
    await moveMoney(alice, 'Transfer', '1000', { to: bobNumber });
    const alert = alice.getByRole('alert').filter({ hasText: 'There is not enough money in the account for this.' });
    await alert.waitFor();
    await shot(alice, 'insufficient-funds');
    await expectBalance(alice, '83.50 EUR');
  });

  test('amounts are checked against the currency before sending', async () => {
    await moveMoney(alice, 'Deposit', '1.234');
    await alice.getByText('EUR amounts have at most 2 decimals.').waitFor();
    const field = alice.getByLabel(/^Amount/);
    assert.equal(await field.getAttribute('aria-invalid'), 'true');
  });

  test('a reload keeps the customer signed in; signing out ends the session', async () => {
    await alice.reload();
    await heading(alice, 'Everyday').waitFor();
    await alice.getByRole('button', { name: 'Sign out' }).click();
    await heading(alice, 'Sign in').waitFor();
    assert.equal(await alice.evaluate(() => sessionStorage.getItem('bank.refreshToken')), null);
    await alice.goto(`${BANK_URL}/`);
    await heading(alice, 'Sign in').waitFor();
    await shot(alice, 'sign-in');
  });

  test('the history pages with Load more', async () => {
    await bob.getByRole('link', { name: 'Accounts', exact: true }).click();
    await bob.getByRole('link', { name: 'Savings pot' }).click();
    await heading(bob, 'Savings pot').waitFor();
    for (let i = 1; i <= 10; i++) {
      await moveMoney(bob, 'Deposit', '1');
      await expectBalance(bob, `${(26.5 + i).toFixed(2)} EUR`);
    }
    await bob.locator('.transaction').nth(9).waitFor();
    assert.equal(await bob.locator('.transaction').count(), 10); // one page
    await bob.getByRole('button', { name: 'Load more' }).click();
    await bob.locator('.transaction').filter({ hasText: '+25.50 EUR' }).waitFor();
    assert.equal(await bob.locator('.transaction').count(), 12);
    assert.equal(await bob.getByRole('button', { name: 'Load more' }).count(), 0);

    // Ten deposits, ten more unread notifications: the centre pages them too.
    await bob.getByTestId('unread-count').filter({ hasText: /^10$/ }).waitFor();
    await bob.getByRole('link', { name: /^Notifications/ }).click();
    await heading(bob, 'Notifications').waitFor();
    const items = bob.getByTestId('notification');
    await items.nth(9).waitFor();
    assert.equal(await items.count(), 10);
    await bob.getByRole('button', { name: 'Load more' }).click();
    await items.filter({ hasText: 'You received 25.50 EUR' }).waitFor();
    assert.equal(await items.count(), 12);
    assert.equal(await bob.getByRole('button', { name: 'Load more' }).count(), 0);
  });

  test('an empty account can be closed', async () => {
    await bob.getByRole('link', { name: 'Open account' }).click();
    await heading(bob, 'Open an account').waitFor();
    await bob.getByLabel('Currency').selectOption('JPY');
    await bob.getByLabel('Nickname (optional)').fill('Travel yen');
    await bob.getByRole('button', { name: 'Open account' }).click();
    await heading(bob, 'Travel yen').waitFor();
    await expectBalance(bob, '0 JPY');
    await bob.getByRole('button', { name: 'Close account…' }).click();
    await bob.getByRole('button', { name: 'Yes, close it' }).click();
    await heading(bob, 'Your accounts').waitFor();
    await bob.getByText('Closed accounts (1)').waitFor();
  });

  test('staff find an account by number and freeze and unfreeze it', async (t) => {
    const admin = adminCredentials();
    if (!admin) {
      t.skip('BANK_ADMIN_EMAIL/BANK_ADMIN_PASSWORD are not set and .data/secrets.env is missing');
      return;
    }
    const staff = await newPage();
    await signIn(staff, admin);
    await staff.getByRole('link', { name: 'Staff' }).click();
    await heading(staff, 'Find an account').waitFor();
    await staff.getByLabel('Account number or id').fill(bobNumber.toLowerCase());
    await staff.getByRole('button', { name: 'Find' }).click();
    await staff.getByText('Bob Example').waitFor();
    await staff.getByLabel('Reason for freezing').fill('Checking a report');
    await staff.getByRole('button', { name: 'Freeze account' }).click();
    await staff.getByText('Frozen: Checking a report').waitFor();
    await shot(staff, 'staff-frozen');

    await bob.getByRole('link', { name: 'Savings pot' }).click();
    await bob.getByText('This account is frozen: Checking a report').waitFor();

    await staff.getByRole('button', { name: 'Unfreeze account' }).click();
    await staff.getByRole('button', { name: 'Freeze account' }).waitFor();
    await bob.reload();
    await bob.getByRole('heading', { name: 'Move money' }).waitFor();
  });

  test('after a token refresh the live connection signs in again with the new token and alerts keep coming', async () => {
    const carol = await newPage();
    await carol.clock.install(); // time runs as usual until the test jumps ahead
    const inits = [];
    carol.on('websocket', (socket) => {
      socket.on('framesent', ({ payload }) => {
        const message = JSON.parse(String(payload));
        if (message.type === 'connection_init') inits.push(message.payload?.Authorization);
      });
    });
    await signUp(carol, 'Carol Example');
    const carolNumber = await openAccount(carol, { currency: 'EUR', nickname: 'Pocket' });
    await carol.getByRole('link', { name: '← Your accounts' }).click();
    await heading(carol, 'Your accounts').waitFor();
    await waitUntil(() => inits.length === 1);
    assert.match(inits[0], /^Bearer \S+$/);

    // Past the access token's refresh time (80% of its life; the stack's tokens live 15 minutes):
    // the app refreshes and moves its subscriptions to a socket authenticated with the new token.
    await carol.clock.fastForward('30:00');
    await waitUntil(() => inits.length === 2);
    assert.match(inits[1], /^Bearer \S+$/);
    assert.notEqual(inits[1], inits[0]);

    await moveMoney(bob, 'Transfer', '2', { to: carolNumber });
    await carol.getByTestId('toast').filter({ hasText: 'Received 2.00 EUR on Pocket. Balance 2.00 EUR.' }).waitFor();
    await expectBalance(carol, '2.00 EUR');
    await carol.getByTestId('unread-count').filter({ hasText: /^1$/ }).waitFor();
  });
});

async function waitUntil(condition, timeoutMs = TIMEOUT) {
  const end = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * A teller made for the test, as the bank makes one: a new user signs up (`register`, then
 * `verifyEmail` with the e-mailed link's token), the administrator gives them the TELLER role
 * (`setUserRoles`), and they sign in again in a page of their own so that their token carries
 * the role.
 */
async function newTeller(fullName) {
  const email = `ui-teller-${randomUUID().slice(0, 12)}@example.com`;
  const { id } = await registerCustomer({ fullName, email, password: PASSWORD });
  const admin = await apiSignIn(adminCredentials());
  const promoted = await graphql(
    'mutation($u: ID!) { setUserRoles(userId: $u, roles: [TELLER]) { id roles } }',
    { u: id },
    admin.token,
  );
  assert.deepEqual(promoted.data?.setUserRoles?.roles, ['TELLER'], JSON.stringify(promoted.errors));
  const page = await newPage();
  await signIn(page, { email, password: PASSWORD });
  return { page, id, email };
}

/** A card in one of the review queue's lists, paging on until it appears (the queue is shared). */
async function findApplication(page, listName, text) {
  const list = page.getByRole('region', { name: listName });
  const card = list.getByTestId('application').filter({ hasText: text });
  for (let i = 0; i < 50; i++) {
    await list.getByText('Loading…').waitFor({ state: 'detached' });
    if ((await card.count()) > 0) return card;
    const more = list.getByRole('button', { name: 'Load more' });
    if ((await more.count()) === 0) break;
    await more.click();
  }
  await card.waitFor();
  return card;
}

/** From a loan's page to the list of loans and back to the loan: the page loads it afresh. */
async function openLoanAgain(page, title) {
  await page.getByRole('link', { name: '← Your loans' }).click();
  await heading(page, 'Loans').waitFor();
  await page.getByRole('link', { name: title }).click();
  await heading(page, title).waitFor();
}

describe('loans in a browser', () => {
  let dora;
  let doraEmail;
  let staff;
  const loanTitle = 'Small loan, 120.00 EUR';

  test('a customer sees the loans on offer with a live quote and applies', async (t) => {
    if (!adminCredentials()) {
      t.skip('BANK_ADMIN_EMAIL/BANK_ADMIN_PASSWORD are not set and .data/secrets.env is missing');
      return;
    }
    dora = await newPage();
    doraEmail = await signUp(dora, 'Dora Example');
    await openAccount(dora, { currency: 'USD', nickname: 'Dollars' });
    await dora.getByRole('link', { name: '← Your accounts' }).click();
    await heading(dora, 'Your accounts').waitFor();
    await openAccount(dora, { currency: 'EUR', nickname: 'Bike fund' });
    await expectBalance(dora, '0.00 EUR');

    await dora.getByRole('link', { name: 'Loans', exact: true }).click();
    await heading(dora, 'Loans').waitFor();
    await dora.getByText('You have no loans yet.').waitFor();

    // A loan with interest: the quote shows what it costs before applying.
    await dora.getByRole('radio', { name: /^Personal loan in EUR/ }).check();
    await dora.getByLabel('Amount (EUR)').fill('1000');
    await dora.getByLabel('Term in months').fill('12');
    await dora.getByTestId('quote-monthly').waitFor();
    const interest = (await dora.getByTestId('quote-interest').textContent()).trim();
    assert.match(interest, /^\d+\.\d{2} EUR$/);
    assert.notEqual(interest, '0.00 EUR');
    // Only accounts in the loan's currency are offered.
    const picker = dora.getByLabel('Pay the loan into');
    assert.deepEqual(
      (await picker.locator('option').allTextContents()).map((text) => text.split(' · ')[0]),
      ['Bike fund'],
    );
    await dora.getByRole('radio', { name: /^Personal loan in USD/ }).check();
    await dora.getByLabel('Amount (USD)').waitFor();
    assert.deepEqual(
      (await picker.locator('option').allTextContents()).map((text) => text.split(' · ')[0]),
      ['Dollars'],
    );

    // The small loan at no interest; amounts outside the product are refused before asking.
    await dora.getByRole('radio', { name: /^Small loan in EUR/ }).check();
    await dora.getByLabel('Amount (EUR)').fill('5');
    await dora.getByLabel('Term in months').fill('3');
    await dora.getByTestId('quote').getByText('Choose an amount from 10.00 EUR to 1,000.00 EUR.').waitFor();
    await dora.getByLabel('Amount (EUR)').fill('120');
    await dora.getByTestId('quote-monthly').filter({ hasText: '40.00 EUR' }).waitFor();
    assert.equal((await dora.getByTestId('quote-interest').textContent()).trim(), '0.00 EUR');
    assert.equal((await dora.getByTestId('quote-total').textContent()).trim(), '120.00 EUR');
    await dora.getByLabel('Purpose (optional)').fill('A new bike');
    await shot(dora, 'loan-quote');
    await dora.getByRole('button', { name: 'Apply for this loan' }).dblclick();

    await dora.getByTestId('toast').filter({ hasText: 'Applied for 120.00 EUR.' }).first().waitFor();
    await heading(dora, loanTitle).waitFor();
    await dora.getByTestId('loan-status').filter({ hasText: 'In review' }).waitFor();
    await dora.getByText('We are reviewing your application.').waitFor();

    // A double click applied once.
    await dora.getByRole('link', { name: '← Your loans' }).click();
    await heading(dora, 'Loans').waitFor();
    await dora.getByTestId('loan').first().waitFor();
    assert.equal(await dora.getByTestId('loan').count(), 1);
    await dora.getByTestId('loan').filter({ hasText: 'In review' }).waitFor();
    await dora.getByRole('link', { name: loanTitle }).click();
    await heading(dora, loanTitle).waitFor();
  });

  test('two members of staff approve and pay the loan out (four eyes); the customer sees it active with its schedule and the money', async (t) => {
    if (!dora) {
      t.skip('no application to review');
      return;
    }
    const admin = adminCredentials();
    const adminId = (await apiSignIn(admin)).id;
    staff = await newPage();
    await signIn(staff, admin);
    const teller = await newTeller('Tess Teller');
    await teller.page.getByRole('link', { name: 'Loan applications' }).waitFor();

    await staff.getByRole('link', { name: 'Loan applications' }).click();
    await heading(staff, 'Loan applications').waitFor();
    const pending = await findApplication(staff, /^Waiting for a decision/, doraEmail);
    await pending.getByText('A new bike').waitFor();

    // Rejecting needs a reason; cancel instead.
    await pending.getByRole('button', { name: 'Reject…' }).click();
    await pending.getByRole('button', { name: 'Reject application' }).click();
    await pending.getByText('Say why the application is rejected; the customer sees it.').waitFor();
    await shot(staff, 'loan-applications');
    await pending.getByRole('button', { name: 'Cancel' }).click();

    // The administrator's approval is the first of two: the loan waits for someone else.
    await pending.getByRole('button', { name: 'Approve', exact: true }).click();
    await staff
      .getByTestId('toast')
      .filter({ hasText: 'Approved 120.00 EUR for Dora Example (1 of 2): a second member of staff must approve it too.' })
      .waitFor();
    await pending
      .getByTestId('awaiting-second-staff')
      .filter({ hasText: 'You approved this application (1 of 2). It waits for a second member of staff to approve it.' })
      .waitFor();
    await pending.getByTestId('approval').filter({ hasText: 'Approved (1 of 2) by you' }).waitFor();
    assert.equal(await pending.getByRole('button', { name: /^Approve/ }).count(), 0, 'the same member of staff is offered nothing that would change nothing');
    await pending.getByRole('button', { name: 'Reject…' }).waitFor();
    await staff.reload();
    await heading(staff, 'Loan applications').waitFor();
    const stillPending = await findApplication(staff, /^Waiting for a decision/, doraEmail);
    await stillPending.getByTestId('awaiting-second-staff').filter({ hasText: 'You approved this application' }).waitFor();
    assert.equal(await stillPending.getByRole('button', { name: /^Approve/ }).count(), 0);
    await shot(staff, 'loan-awaiting-second-approval');
    assert.equal((await dora.getByTestId('loan-status').textContent()).trim(), 'In review');
    // The customer's loan page, opened again, says that it waits for a second member of staff.
    await openLoanAgain(dora, loanTitle);
    await dora.getByRole('status').filter({ hasText: 'It now waits for a second member of staff to approve it too' }).waitFor();
    assert.equal((await dora.getByTestId('loan-status').textContent()).trim(), 'In review');

    // The teller sees who approved first, and completes the approval.
    await teller.page.getByRole('link', { name: 'Loan applications' }).click();
    await heading(teller.page, 'Loan applications').waitFor();
    const second = await findApplication(teller.page, /^Waiting for a decision/, doraEmail);
    await second
      .getByTestId('awaiting-second-staff')
      .filter({ hasText: 'Approved by 1 of 2 — a second member of staff must approve.' })
      .waitFor();
    await second.getByTestId('approval').filter({ hasText: `Approved (1 of 2) by ${adminId}` }).waitFor();
    await second.getByRole('button', { name: 'Approve as second member of staff' }).click();
    await teller.page.getByTestId('toast').filter({ hasText: 'Approved 120.00 EUR for Dora Example.' }).waitFor();
    // The customer's page follows without a reload (the loan notification).
    await dora.getByTestId('loan-status').filter({ hasText: 'Approved' }).waitFor();

    // The payout: the teller asks for it, the administrator confirms it.
    const toPay = await findApplication(teller.page, /^Approved, to be paid out/, doraEmail);
    await toPay.getByTestId('approval').filter({ hasText: 'Approved (2 of 2) by you' }).waitFor();
    await toPay.getByRole('button', { name: 'Pay out 120.00 EUR' }).click();
    await teller.page
      .getByTestId('toast')
      .filter({ hasText: 'Asked to pay 120.00 EUR out to Dora Example: a second member of staff must confirm the payout.' })
      .waitFor();
    await toPay
      .getByTestId('awaiting-second-staff')
      .filter({ hasText: 'You asked for this payout. It waits for a second member of staff to confirm it; no money has moved yet.' })
      .waitFor();
    await toPay.getByTestId('approval').filter({ hasText: 'Asked for the payout by you' }).waitFor();
    assert.equal(await toPay.getByRole('button', { name: /^(Pay out|Confirm payout)/ }).count(), 0);
    assert.equal((await dora.getByTestId('loan-status').textContent()).trim(), 'Approved');
    await openLoanAgain(dora, loanTitle);
    await dora
      .getByRole('status')
      .filter({ hasText: 'it now waits for a second member of staff to confirm the payout before the money reaches your account' })
      .waitFor();

    await staff.getByRole('button', { name: 'Refresh' }).click();
    const approved = await findApplication(staff, /^Approved, to be paid out/, doraEmail);
    await approved
      .getByTestId('awaiting-second-staff')
      .filter({ hasText: 'Payout asked for — a second member of staff must confirm.' })
      .waitFor();
    await approved.getByTestId('approval').filter({ hasText: `Asked for the payout by ${teller.id}` }).waitFor();
    await approved.getByRole('button', { name: 'Confirm payout of 120.00 EUR' }).click();
    await staff.getByTestId('toast').filter({ hasText: 'Paid 120.00 EUR out to Dora Example.' }).waitFor();
    await dora.getByTestId('toast').filter({ hasText: 'Your loan of 120.00 EUR was paid into Bike fund. Balance 120.00 EUR.' }).waitFor();
    await staff.getByTestId('application').filter({ hasText: doraEmail }).waitFor({ state: 'detached' });
    await teller.page.context().close();

    await dora.getByTestId('loan-status').filter({ hasText: 'Active' }).waitFor();
    await dora.getByTestId('outstanding').filter({ hasText: '120.00 EUR' }).waitFor();
    await dora.getByTestId('account-balance').filter({ hasText: 'Balance 120.00 EUR' }).waitFor();
    const installments = dora.getByTestId('installment');
    await installments.nth(2).waitFor();
    assert.equal(await installments.count(), 3);
    for (let i = 0; i < 3; i++) {
      const row = installments.nth(i);
      assert.match(await row.textContent(), /40\.00 EUR/);
      assert.match(await row.textContent(), /Upcoming/);
    }
    await shot(dora, 'loan-active');
    await readmeShot(dora, 'loan', { fullPage: true });

    await dora.getByRole('link', { name: 'Accounts', exact: true }).click();
    await heading(dora, 'Your accounts').waitFor();
    await dora.locator('.account-card').filter({ hasText: 'Bike fund' }).getByText('120.00 EUR').waitFor();
    await readmeShot(dora, 'dashboard');
  });

  test('the customer repays and sees what is owed drop; a repayment without the money is refused', async (t) => {
    if (!staff) {
      t.skip('the loan was not paid out');
      return;
    }
    await dora.getByRole('link', { name: 'Loans', exact: true }).click();
    await heading(dora, 'Loans').waitFor();
    await dora.getByTestId('loan').filter({ hasText: 'Outstanding 120.00 EUR' }).waitFor();
    await dora.getByRole('link', { name: loanTitle }).click();
    await heading(dora, loanTitle).waitFor();

    await dora.getByLabel('Amount (EUR)').fill('500');
    await dora.getByRole('button', { name: 'Repay', exact: true }).click();
    await dora.getByText('You owe 120.00 EUR; enter that or less.').waitFor();

    await dora.getByRole('button', { name: 'Next installment' }).click();
    assert.equal(await dora.getByLabel('Amount (EUR)').inputValue(), '40.00');
    await dora.getByRole('button', { name: 'Repay', exact: true }).click();
    await dora.getByTestId('toast').filter({ hasText: 'Repaid 40.00 EUR.' }).waitFor();
    await dora.getByTestId('outstanding').filter({ hasText: '80.00 EUR' }).waitFor();
    await dora.getByTestId('repaid').filter({ hasText: '40.00 EUR' }).waitFor();
    await dora.getByTestId('account-balance').filter({ hasText: 'Balance 80.00 EUR' }).waitFor();
    await dora.getByTestId('installment').first().getByText('Paid', { exact: true }).waitFor();
    await dora.getByTestId('repayment').filter({ hasText: '40.00 EUR' }).filter({ hasText: 'Paid' }).waitFor();
    await shot(dora, 'loan-repaid');

    // Empty the account, then try to repay from it.
    await dora.getByRole('link', { name: 'Bike fund' }).click();
    await heading(dora, 'Bike fund').waitFor();
    await moveMoney(dora, 'Withdraw', '80');
    await expectBalance(dora, '0.00 EUR');
    await dora.goBack();
    await heading(dora, loanTitle).waitFor();
    await dora.getByLabel('Amount (EUR)').fill('10');
    await dora.getByRole('button', { name: 'Repay', exact: true }).click();
    await dora
      .getByRole('alert')
      .filter({ hasText: 'There is not enough money in the account to repay this much.' })
      .waitFor();
    await dora.getByTestId('repayment').filter({ hasText: 'Failed' }).waitFor();
    assert.equal((await dora.getByTestId('outstanding').textContent()).trim(), '80.00 EUR');

    await dora.getByRole('link', { name: '← Your loans' }).click();
    await heading(dora, 'Loans').waitFor();
    await dora.getByTestId('loan').filter({ hasText: 'Outstanding 80.00 EUR' }).waitFor();
  });
});

describe('payments to other banks in a browser', () => {
  let erin;
  const fromBalance = () => erin.getByTestId('from-balance');
  const payment = (text) => erin.getByTestId('payment').filter({ hasText: text });

  test('a customer adds a payee, with the IBAN checked before it is saved', async () => {
    erin = await newPage();
    await signUp(erin, 'Erin Example');
    await openAccount(erin, { currency: 'EUR', nickname: 'Everyday' });
    await moveMoney(erin, 'Deposit', '100');
    await expectBalance(erin, '100.00 EUR');

    await erin.getByRole('link', { name: 'Payments', exact: true }).click();
    await heading(erin, 'Payments').waitFor();
    await erin.getByText('No payees yet.').waitFor();
    await erin.getByText('You have not sent money to another bank yet.').waitFor();
    await fromBalance().filter({ hasText: 'Balance 100.00 EUR' }).waitFor();

    // One digit off: refused next to the field before anything is sent.
    await erin.getByLabel("Payee's name").fill('Acme GmbH');
    await erin.getByLabel("Payee's IBAN").fill('de89 3704 0044 0532 0130 01');
    await erin.getByRole('button', { name: 'Save payee' }).click();
    await erin.getByText('This IBAN’s check digits do not match').waitFor();
    assert.equal(await erin.getByLabel("Payee's IBAN").getAttribute('aria-invalid'), 'true');

    await erin.getByLabel("Payee's IBAN").fill('de89 3704 0044 0532 0130 00');
    await erin.getByRole('button', { name: 'Save payee' }).click();
    await erin.getByTestId('toast').filter({ hasText: 'Saved Acme GmbH as a payee.' }).waitFor();
    await erin.getByTestId('payee').filter({ hasText: 'Acme GmbH' }).filter({ hasText: 'DE89 3704 0044 0532 0130 00' }).waitFor();
    assert.equal(await erin.getByTestId('payee').count(), 1);
  });

  test('sends a payment to the payee and sees it complete and the balance drop; a double click sends once', async (t) => {
    if (!erin) {
      t.skip('no customer');
      return;
    }
    // The send form offers the saved payee.
    await erin.getByRole('radio', { name: 'A saved payee' }).waitFor();
    assert.equal(await erin.getByRole('radio', { name: 'A saved payee' }).isChecked(), true);
    assert.match(await erin.getByLabel('Payee', { exact: true }).locator('option:checked').textContent(), /^Acme GmbH/);

    await erin.getByLabel(/^Amount/).fill('12.345');
    await erin.getByRole('button', { name: 'Send payment' }).click();
    await erin.getByText('EUR amounts have at most 2 decimals.').waitFor();

    await erin.getByLabel(/^Amount/).fill('10');
    await erin.getByLabel('Reference (optional)').fill('Invoice 42');
    await erin.getByRole('button', { name: 'Send payment' }).dblclick();
    await erin.getByTestId('toast').filter({ hasText: 'Sent 10.00 EUR to Acme GmbH.' }).first().waitFor();
    await fromBalance().filter({ hasText: exactly('Balance 90.00 EUR') }).waitFor();

    // The gateway settles it within a second or so; the list follows without a reload.
    await erin.evaluate(() => {
      window.__samePaymentsPage = true;
    });
    const sent = payment('Acme GmbH');
    await sent.getByTestId('payment-status').filter({ hasText: 'Completed' }).waitFor();
    await sent.getByText('Reference: Invoice 42').waitFor();
    await sent.getByText('The other bank has the money.').waitFor();
    assert.equal((await sent.getByTestId('payment-amount').textContent()).trim(), '-10.00 EUR');
    assert.equal(await erin.evaluate(() => window.__samePaymentsPage), true, 'the page was not reloaded');
    assert.equal(await erin.getByTestId('payment').count(), 1, 'a double click sent one payment');
    await shot(erin, 'payments-completed');

    await erin.getByRole('link', { name: 'Accounts', exact: true }).click();
    await heading(erin, 'Your accounts').waitFor();
    await expectBalance(erin, '90.00 EUR');
  });

  test('a payment the other bank rejects comes back: returned, and the balance restored', async (t) => {
    if (!erin) {
      t.skip('no customer');
      return;
    }
    await erin.getByRole('link', { name: 'Payments', exact: true }).click();
    await heading(erin, 'Payments').waitFor();
    await erin.getByRole('radio', { name: 'Someone new' }).check();
    await erin.getByLabel("Recipient's name").fill('Bob Builder');
    await erin.getByLabel("Recipient's IBAN").fill('GB82 WEST 1234 5698 7654 32');
    await erin.getByLabel(/^Amount/).fill('20');
    await erin.getByLabel('Reference (optional)').fill('REJECT test');
    await erin.getByRole('button', { name: 'Send payment' }).click();
    await erin.getByTestId('toast').filter({ hasText: 'Sent 20.00 EUR to Bob Builder.' }).waitFor();

    const back = payment('Bob Builder');
    await back.getByTestId('payment-status').filter({ hasText: 'Returned — money back in your account' }).waitFor();
    await back.getByText(/^The other bank did not take the payment.*The money is back in your account\.$/).waitFor();
    // The money coming back is a live alert, and the balance on the page follows it.
    await erin.getByTestId('toast').filter({ hasText: 'Your payment of 20.00 EUR to Bob Builder came back to Everyday. Balance 90.00 EUR.' }).waitFor();
    await fromBalance().filter({ hasText: exactly('Balance 90.00 EUR') }).waitFor();
    assert.match(await erin.getByTestId('payment').first().textContent(), /Bob Builder/); // newest first
    await shot(erin, 'payments-returned');
    await readmeShot(erin, 'payments', { from: erin.getByRole('region', { name: 'Your payments' }) });

    await erin.getByRole('link', { name: 'Accounts', exact: true }).click();
    await heading(erin, 'Your accounts').waitFor();
    await expectBalance(erin, '90.00 EUR');
    await erin.getByRole('link', { name: 'Everyday' }).click();
    await heading(erin, 'Everyday').waitFor();
    await erin.locator('.transaction').filter({ hasText: 'Money returned' }).filter({ hasText: '+20.00 EUR' }).waitFor();
    assert.equal(await erin.locator('.transaction').filter({ hasText: 'Payment to another bank' }).count(), 2);
  });

  test('a payment without the money is refused and listed as not sent; a payee can be removed', async (t) => {
    if (!erin) {
      t.skip('no customer');
      return;
    }
    await erin.getByRole('link', { name: 'Payments', exact: true }).click();
    await heading(erin, 'Payments').waitFor();
    await erin.getByRole('radio', { name: 'A saved payee' }).check();
    await erin.getByLabel(/^Amount/).fill('1000');
    await erin.getByRole('button', { name: 'Send payment' }).click();
    await erin.getByRole('alert').filter({ hasText: 'There is not enough money in the account to send this.' }).waitFor();
    await payment('Acme GmbH').filter({ hasText: 'Not sent' }).filter({ hasText: '1,000.00 EUR' }).waitFor();
    assert.equal((await fromBalance().textContent()).trim(), 'Balance 90.00 EUR');

    await erin.getByRole('button', { name: 'Remove Acme GmbH' }).click();
    await erin.getByRole('button', { name: 'Yes, remove' }).click();
    await erin.getByTestId('toast').filter({ hasText: 'Removed Acme GmbH.' }).waitFor();
    await erin.getByText('No payees yet.').waitFor();
    assert.equal(await erin.getByRole('radio', { name: 'Someone new' }).isChecked(), true);
  });
});

describe('direct debits in a browser', () => {
  let frank;
  const creditorId = 'DE98ZZZ09999999999';
  // Each run its own reference: a creditor's reference names one mandate.
  const reference = `SW-${Date.now()}`;
  const accountBalance = () => frank.getByTestId('account-balance');
  const directDebit = (text) => frank.getByTestId('direct-debit').filter({ hasText: text });
  const mandate = () => frank.getByTestId('mandate').filter({ hasText: reference });

  /** The creditor collects under the mandate (the stand-in gateway plays it); the bank's answer. */
  async function collect(amount, remittance) {
    const response = await fetch(`${GATEWAY_URL}/collections`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ creditorId, mandateReference: reference, amount, currency: 'EUR', remittance }),
    });
    const text = await response.text();
    assert.equal(response.status, 200, text);
    return JSON.parse(text);
  }

  async function openDirectDebits() {
    await frank.getByRole('link', { name: 'Direct debits', exact: true }).click();
    await heading(frank, 'Direct debits').waitFor();
  }

  test('a customer gives a mandate, with the creditor identifier checked before it is sent', async () => {
    frank = await newPage();
    await signUp(frank, 'Frank Example');
    await openAccount(frank, { currency: 'EUR', nickname: 'Everyday' });
    await moveMoney(frank, 'Deposit', '100');
    await expectBalance(frank, '100.00 EUR');

    await openDirectDebits();
    await frank.getByText('No mandates yet.').waitFor();
    await frank.getByText('No direct debits yet.').waitFor();
    await accountBalance().filter({ hasText: exactly('Balance 100.00 EUR') }).waitFor();

    // Check digits off: refused next to the field before anything is sent.
    await frank.getByLabel("Creditor's name").fill('Stadtwerke');
    await frank.getByLabel('Creditor identifier').fill('DE97 ZZZ 0999 9999 999');
    await frank.getByLabel('Mandate reference').fill(reference);
    await frank.getByLabel('Limit per collection (optional)').fill('40');
    await frank.getByRole('button', { name: 'Give mandate' }).click();
    await frank.getByText('This creditor identifier’s check digits do not match').waitFor();
    assert.equal(await frank.getByLabel('Creditor identifier').getAttribute('aria-invalid'), 'true');
    assert.equal(await frank.getByTestId('mandate').count(), 0);

    await frank.getByLabel('Creditor identifier').fill(creditorId);
    await frank.getByRole('button', { name: 'Give mandate' }).click();
    await frank.getByTestId('toast').filter({ hasText: 'Mandate for Stadtwerke recorded.' }).waitFor();
    await mandate().filter({ hasText: 'DE98 ZZZ0 9999 9999 99' }).filter({ hasText: 'Limit 40.00 EUR per collection' }).waitFor();
    await mandate().getByTestId('mandate-status').filter({ hasText: exactly('Active') }).waitFor();
    assert.equal(await frank.getByTestId('mandate').count(), 1);
    await shot(frank, 'direct-debits-mandate');
  });

  test('the creditor collects, the page follows without a reload, and the customer gets the money back', async (t) => {
    if (!frank) {
      t.skip('no customer');
      return;
    }
    await frank.evaluate(() => {
      window.__sameDirectDebitsPage = true;
    });
    const answer = await collect('25.00', 'Electricity 11/2026');
    assert.equal(answer.status, 'COLLECTED', JSON.stringify(answer));
    assert.ok(answer.directDebitId, JSON.stringify(answer));

    // The debit's live alert refetches the direct debits and the balance.
    const electricity = directDebit('Electricity 11/2026');
    await electricity.getByTestId('direct-debit-status').filter({ hasText: exactly('Collected') }).waitFor();
    await electricity.getByText('Reference: Electricity 11/2026').waitFor();
    assert.match(await electricity.textContent(), /Stadtwerke/);
    assert.equal((await electricity.getByTestId('direct-debit-amount').textContent()).trim(), '-25.00 EUR');
    await accountBalance().filter({ hasText: exactly('Balance 75.00 EUR') }).waitFor();
    assert.equal(await frank.evaluate(() => window.__sameDirectDebitsPage), true, 'the page was not reloaded');
    await shot(frank, 'direct-debits-collected');

    await electricity.getByRole('button', { name: 'Refund 25.00 EUR from Stadtwerke' }).click();
    await electricity.getByText('Get 25.00 EUR back from Stadtwerke?').waitFor();
    await electricity.getByRole('button', { name: 'Yes, refund' }).click();
    await frank.getByTestId('toast').filter({ hasText: 'Refunded 25.00 EUR from Stadtwerke.' }).waitFor();
    await electricity.getByTestId('direct-debit-status').filter({ hasText: 'Refunded — money back in your account' }).waitFor();
    await accountBalance().filter({ hasText: exactly('Balance 100.00 EUR') }).waitFor();
    assert.equal(await electricity.getByRole('button', { name: /^Refund/ }).count(), 0);
  });

  test('a collection above the limit is refused; a revoked mandate refuses every collection', async (t) => {
    if (!frank) {
      t.skip('no customer');
      return;
    }
    const refused = await collect('50.00', 'Electricity 12/2026');
    assert.equal(refused.status, 'REFUSED', JSON.stringify(refused));
    assert.equal(refused.code, 'AMOUNT_ABOVE_LIMIT');

    // Nothing moved, so no live alert: a reload shows it.
    await frank.reload();
    await heading(frank, 'Direct debits').waitFor();
    const above = directDebit('Electricity 12/2026');
    await above.getByTestId('direct-debit-status').filter({ hasText: exactly('Refused') }).waitFor();
    await above.getByText("Above the mandate's limit.").waitFor();
    assert.equal((await above.getByTestId('direct-debit-amount').textContent()).trim(), '50.00 EUR');
    assert.match(await frank.getByTestId('direct-debit').first().textContent(), /Electricity 12\/2026/); // newest first
    await accountBalance().filter({ hasText: exactly('Balance 100.00 EUR') }).waitFor();
    await shot(frank, 'direct-debits-refused');

    await mandate().getByRole('button', { name: /^Revoke the mandate for Stadtwerke/ }).click();
    await mandate().getByRole('button', { name: 'Yes, revoke' }).click();
    await frank.getByTestId('toast').filter({ hasText: 'Mandate for Stadtwerke revoked.' }).waitFor();
    await mandate().getByTestId('mandate-status').filter({ hasText: /^\s*Revoked on \d{1,2} \w{3} \d{4}\s*$/ }).waitFor();
    assert.equal(await mandate().getByRole('button', { name: /^Revoke/ }).count(), 0);

    const afterRevoking = await collect('10.00', 'Electricity 01/2027');
    assert.equal(afterRevoking.status, 'REFUSED', JSON.stringify(afterRevoking));
    assert.equal(afterRevoking.code, 'MANDATE_REVOKED');
    await frank.reload();
    await heading(frank, 'Direct debits').waitFor();
    await directDebit('Electricity 01/2027').getByText('You had revoked the mandate.').waitFor();

    await frank.getByRole('link', { name: 'Accounts', exact: true }).click();
    await heading(frank, 'Your accounts').waitFor();
    await expectBalance(frank, '100.00 EUR');
  });
});

describe('standing orders in a browser', () => {
  let gina;
  const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  // The bank's dates are UTC dates: its today, and the day before.
  const utcDay = (offsetDays = 0) => new Date(Date.now() + offsetDays * 86_400_000).toISOString().slice(0, 10);
  /** "2026-11-25" → "25 Nov 2026", as the page writes a date. */
  const dayText = (date) => {
    const [year, month, day] = date.split('-').map(Number);
    return `${day} ${MONTHS[month - 1]} ${year}`;
  };
  const fromBalance = () => gina.getByTestId('from-balance');
  const landlord = () => gina.getByTestId('standing-order').filter({ hasText: 'Landlord' });
  const payment = (text) => gina.getByTestId('payment').filter({ hasText: text });

  test('a customer sets up a monthly standing order; the bank pays today’s date and the payment completes', async () => {
    gina = await newPage();
    await signUp(gina, 'Gina Example');
    await openAccount(gina, { currency: 'EUR', nickname: 'Everyday' });
    await moveMoney(gina, 'Deposit', '100');
    await expectBalance(gina, '100.00 EUR');

    await gina.getByRole('link', { name: 'Payments', exact: true }).click();
    await heading(gina, 'Payments').waitFor();
    await gina.getByRole('heading', { level: 2, name: 'Standing orders' }).waitFor();
    await gina.getByText('No standing orders yet.').waitFor();
    await fromBalance().filter({ hasText: exactly('Balance 100.00 EUR') }).waitFor();

    // No payees yet: the form is for someone new. Now is the default; Repeat sets up a standing order.
    assert.equal(await gina.getByRole('radio', { name: 'Someone new' }).isChecked(), true);
    assert.equal(await gina.getByRole('radio', { name: 'Now', exact: true }).isChecked(), true);
    await gina.getByRole('radio', { name: 'Repeat', exact: true }).check();
    await gina.getByRole('button', { name: 'Set up standing order' }).waitFor();
    assert.equal(await gina.getByRole('button', { name: 'Send payment' }).count(), 0);

    await gina.getByLabel("Recipient's name").fill('Landlord');
    await gina.getByLabel("Recipient's IBAN").fill('DE89 3704 0044 0532 0130 00');
    await gina.getByLabel(/^Amount/).fill('30');
    await gina.getByLabel('Every', { exact: true }).selectOption({ label: 'Month' });
    const today = utcDay();
    assert.equal(await gina.getByLabel('First payment on').inputValue(), today); // today by default
    assert.equal(await gina.getByLabel('Last payment on (optional)').inputValue(), '');
    await gina.getByRole('button', { name: 'Set up standing order' }).click();
    await gina
      .getByTestId('toast')
      .filter({ hasText: `Standing order to Landlord set up: 30.00 EUR every month from ${dayText(today)}.` })
      .waitFor();

    // Listed at once; the bank makes today's payment within a second or so and the page follows.
    await gina.evaluate(() => {
      window.__sameStandingOrdersPage = true;
    });
    await landlord().getByTestId('standing-order-schedule').filter({ hasText: /30\.00 EUR · Monthly on the \d{1,2}(st|nd|rd|th)/ }).waitFor();
    await landlord().getByTestId('standing-order-runs').filter({ hasText: exactly('1 payment made') }).waitFor();
    await landlord().filter({ hasText: `Last paid ${dayText(today)}` }).waitFor();
    await landlord().getByTestId('standing-order-status').filter({ hasText: /^\s*Next: \d{1,2} \w{3} \d{4}\s*$/ }).waitFor();
    assert.equal(await gina.getByTestId('standing-order').count(), 1);

    // Its payment is an ordinary payment: listed with the others, completed by the gateway.
    const paid = payment('Landlord');
    await paid.getByTestId('payment-status').filter({ hasText: 'Completed' }).waitFor();
    assert.equal((await paid.getByTestId('payment-amount').textContent()).trim(), '-30.00 EUR');
    await fromBalance().filter({ hasText: exactly('Balance 70.00 EUR') }).waitFor();
    assert.equal(await gina.getByTestId('payment').count(), 1);
    assert.equal(await gina.evaluate(() => window.__sameStandingOrdersPage), true, 'the page was not reloaded');
    await shot(gina, 'standing-orders');
  });

  test('a first payment in the past is refused before sending; cancelling stops the order', async (t) => {
    if (!gina) {
      t.skip('no customer');
      return;
    }
    await gina.getByRole('radio', { name: 'Repeat', exact: true }).check();
    await gina.getByLabel("Recipient's name").fill('Landlord');
    await gina.getByLabel("Recipient's IBAN").fill('DE89 3704 0044 0532 0130 00');
    await gina.getByLabel(/^Amount/).fill('30');
    await gina.getByLabel('First payment on').fill(utcDay(-1));
    await gina.getByRole('button', { name: 'Set up standing order' }).click();
    await gina.getByText('The first payment cannot be in the past.').waitFor();
    assert.equal(await gina.getByLabel('First payment on').getAttribute('aria-invalid'), 'true');
    assert.equal(await gina.getByTestId('standing-order').count(), 1);

    await landlord().getByRole('button', { name: /^Cancel the standing order to Landlord/ }).click();
    await landlord().getByText('Stop paying Landlord 30.00 EUR every month?').waitFor();
    await landlord().getByRole('button', { name: 'Yes, cancel' }).click();
    await gina.getByTestId('toast').filter({ hasText: 'Standing order to Landlord cancelled.' }).waitFor();
    await landlord().getByTestId('standing-order-status').filter({ hasText: exactly('Cancelled') }).waitFor();
    assert.equal(await landlord().getByRole('button', { name: /^Cancel/ }).count(), 0);
    // What it paid stays paid.
    assert.equal((await landlord().getByTestId('standing-order-runs').textContent()).trim(), '1 payment made');
    await payment('Landlord').getByTestId('payment-status').filter({ hasText: 'Completed' }).waitFor();
    await shot(gina, 'standing-orders-cancelled');

    await gina.getByRole('link', { name: 'Accounts', exact: true }).click();
    await heading(gina, 'Your accounts').waitFor();
    await expectBalance(gina, '70.00 EUR');
  });
});

describe('reconciliation in a browser', () => {
  const PARTS = ['Ledger', 'Payments', 'Loans'];

  async function openReconciliation(page) {
    await page.getByRole('link', { name: 'Reconciliation', exact: true }).click();
    await heading(page, 'Reconciliation').waitFor();
  }

  async function expectReport(page) {
    const verdict = page.getByTestId('reconciliation-verdict');
    await verdict.waitFor();
    for (const name of PARTS) {
      const part = page.getByRole('region', { name, exact: true });
      await part.getByTestId('part-verdict').waitFor();
      await part.getByTestId('checked-at').waitFor();
    }
    return verdict;
  }

  test('the administrator opens the reconciliation from the menu: the books agree in every part', async (t) => {
    const admin = adminCredentials();
    if (!admin) {
      t.skip('BANK_ADMIN_EMAIL/BANK_ADMIN_PASSWORD are not set and .data/secrets.env is missing');
      return;
    }
    const staff = await newPage();
    await signIn(staff, admin);
    await openReconciliation(staff);
    assert.equal(
      await staff.getByRole('link', { name: 'Reconciliation', exact: true }).getAttribute('aria-current'),
      'page',
    );

    const verdict = await expectReport(staff);
    const found = (await staff.getByTestId('mismatch').allTextContents()).join('\n');
    assert.equal((await verdict.textContent()).trim(), 'Books agree', `the reconciliation found:\n${found}`);
    for (const name of PARTS) {
      const part = staff.getByRole('region', { name, exact: true });
      assert.equal((await part.getByTestId('part-verdict').textContent()).trim(), 'No mismatches', name);
      assert.equal(await part.getByTestId('mismatch').count(), 0, name);
    }
    const ledger = staff.getByRole('region', { name: 'Ledger', exact: true });
    assert.match((await ledger.getByTestId('ledger-accounts-checked').textContent()).trim(), /^[\d,]+$/);
    await ledger.getByText('Every invariant holds.').waitFor();
    for (const name of ['Payments', 'Loans']) {
      const part = staff.getByRole('region', { name, exact: true });
      assert.match((await part.getByTestId('records-checked').textContent()).trim(), /^[\d,]+$/, name);
      await part.getByText('Every record agrees with the ledger.').waitFor();
      await part.getByRole('heading', { name: 'Held in suspense' }).waitFor();
    }
    await shot(staff, 'reconciliation');

    // Run again asks the API once more (not the cache) and shows the new report.
    const rerun = staff.waitForResponse((response) => graphqlOperation(response.request()) === 'Reconciliation');
    await staff.getByRole('button', { name: 'Run again' }).click();
    assert.equal((await rerun).status(), 200);
    await staff.getByRole('button', { name: 'Run again' }).waitFor();
    assert.equal((await (await expectReport(staff)).textContent()).trim(), 'Books agree');
  });

  test('a customer has no reconciliation: no menu entry, and the address shows page not found', async () => {
    const erin = await newPage();
    await signUp(erin, 'Erin Example');
    assert.equal(await erin.getByRole('link', { name: 'Reconciliation', exact: true }).count(), 0);
    assert.equal(await erin.getByRole('link', { name: 'Staff', exact: true }).count(), 0);

    await erin.goto(`${BANK_URL}/staff/reconciliation`);
    await heading(erin, 'Page not found').waitFor();
    assert.equal(await heading(erin, 'Reconciliation').count(), 0);
    assert.equal(await erin.getByTestId('reconciliation-verdict').count(), 0);
    assert.equal(await erin.getByRole('link', { name: 'Reconciliation', exact: true }).count(), 0);
  });

  test('when the reconciliation cannot be run the page says why and runs it again on request', async (t) => {
    const admin = adminCredentials();
    if (!admin) {
      t.skip('BANK_ADMIN_EMAIL/BANK_ADMIN_PASSWORD are not set and .data/secrets.env is missing');
      return;
    }
    const staff = await newPage();
    await signIn(staff, admin);

    // The first run is rate limited (NGINX answers 429), the second fails inside the bank.
    const answers = [
      { status: 429, contentType: 'text/plain', body: 'Too Many Requests' },
      {
        status: 500,
        contentType: 'application/json',
        body: JSON.stringify({ data: null, errors: [{ message: 'internal error', extensions: { code: 'INTERNAL' } }] }),
      },
    ];
    let failed = 0;
    const fail = async (route) => {
      if (graphqlOperation(route.request()) !== 'Reconciliation') return route.continue();
      const answer = answers[Math.min(failed, answers.length - 1)];
      failed += 1;
      return route.fulfill(answer);
    };
    await staff.route(GRAPHQL_URL, fail);

    await openReconciliation(staff);
    const alert = staff.getByRole('alert').filter({ hasText: 'Too many attempts in a short time. Please wait a minute and try again.' });
    await alert.waitFor();
    const retry = staff.getByRole('button', { name: 'Try again' });
    await retry.waitFor();
    assert.equal(await staff.getByTestId('reconciliation-verdict').count(), 0);

    await retry.click();
    await staff
      .getByRole('alert')
      .filter({ hasText: 'The reconciliation could not be run just now. Nothing was changed; try again in a moment.' })
      .waitFor();
    await retry.waitFor();
    assert.equal(await staff.getByTestId('reconciliation-verdict').count(), 0);
    assert.equal(failed, 2);
    await shot(staff, 'reconciliation-error');

    await staff.unroute(GRAPHQL_URL, fail);
    await retry.click();
    const verdict = await expectReport(staff);
    assert.match((await verdict.textContent()).trim(), /^(Books agree|\d+ mismatch(es)?)$/);
    await staff.getByRole('button', { name: 'Try again' }).waitFor({ state: 'detached' });
    assert.equal(failed, 2);
  });
});

describe('the audit trail in a browser', () => {
  const SERVICES = ['Users', 'Accounts', 'Transactions', 'Notifications', 'Loans', 'Payments'];
  const trail = (page, name) => page.getByRole('region', { name, exact: true });

  /** Waits for the page to have its answer (the entries and every service's verification). */
  async function loaded(page) {
    await page.locator('section.audit[aria-busy="false"]').waitFor();
    await page.getByTestId('audit-verdict').waitFor();
  }

  test('the administrator opens it from the menu: every service’s chain verifies, and their own sign-in is there', async (t) => {
    const admin = adminCredentials();
    if (!admin) {
      t.skip('BANK_ADMIN_EMAIL/BANK_ADMIN_PASSWORD are not set and .data/secrets.env is missing');
      return;
    }
    const page = await newPage({ width: 1280, height: 800 });
    await signIn(page, admin);
    await page.getByRole('link', { name: 'Audit trail', exact: true }).click();
    await heading(page, 'Audit trail').waitFor();
    assert.equal(await page.getByRole('link', { name: 'Audit trail', exact: true }).getAttribute('aria-current'), 'page');
    await loaded(page);

    const problems = (await page.getByTestId('audit-problem').allTextContents()).join('\n');
    assert.equal((await page.getByTestId('audit-verdict').textContent()).trim(), 'Every trail verifies', problems);
    for (const name of SERVICES) {
      const part = trail(page, name);
      assert.equal((await part.getByTestId('trail-verdict').textContent()).trim(), 'Verified', name);
      await part.getByTestId('verification-ok').filter({ hasText: /in the chain, none changed\.$|^No entries sealed yet\.$/ }).waitFor();
      await part.getByTestId('checked-at').waitFor();
      assert.equal(await part.getByTestId('audit-problem').count(), 0, name);
    }
    // Every service has recorded something by now (the UI tests before this one did it all).
    for (const name of ['Users', 'Accounts', 'Transactions']) {
      await trail(page, name).getByTestId('audit-entry').first().waitFor();
    }
    await shot(page, 'audit-trail');

    // Their own sign-in, filtered by its action, paging on until it shows (other sign-ins may be newer).
    await page.getByLabel('Action', { exact: true }).fill('users.login');
    await page.getByRole('button', { name: 'Filter', exact: true }).click();
    await page.getByTestId('audit-filter-note').filter({ hasText: 'users.login' }).waitFor();
    await loaded(page);
    const users = trail(page, 'Users');
    const rows = users.getByTestId('audit-entry');
    await rows.first().waitFor();
    const actions = await rows.locator('td:nth-child(3)').allTextContents();
    assert.deepEqual([...new Set(actions.map((text) => text.trim()))], ['users.login']);
    assert.equal(await trail(page, 'Loans').getByTestId('audit-entry').count(), 0);
    await trail(page, 'Loans').getByText('No users.login entries in this trail.').waitFor();

    const mine = rows.filter({ hasText: admin.email }).filter({ hasText: 'OK' }).first();
    for (let i = 0; i < 20 && (await mine.count()) === 0; i++) {
      const more = users.getByRole('button', { name: 'Load more' });
      if ((await more.count()) === 0) break;
      const before = await rows.count();
      await more.click();
      await page.waitForFunction(
        (count) => document.querySelectorAll('[aria-labelledby="audit-users"] [data-testid="audit-entry"]').length > count,
        before,
      );
    }
    await mine.waitFor();
    // The detail, pretty-printed, without the password.
    const toggle = mine.getByTestId('entry-detail-toggle');
    assert.equal((await toggle.textContent()).trim(), 'After');
    const controls = await toggle.getAttribute('aria-controls');
    await toggle.click();
    assert.equal(await toggle.getAttribute('aria-expanded'), 'true');
    assert.equal((await toggle.textContent()).trim(), 'Hide after');
    const detail = users.locator(`[id="${controls}"] pre`).last();
    await detail.waitFor();
    const json = await detail.textContent();
    assert.match(json, /\n {2}"arguments": \{\n/);
    assert.match(json, /"password": "\[redacted\]"/);
    assert.ok(!json.includes(admin.password), 'the password is not in the trail');

    // Load more pages on under the same filter.
    if ((await users.getByRole('button', { name: 'Load more' }).count()) > 0) {
      const before = await rows.count();
      await users.getByRole('button', { name: 'Load more' }).click();
      await page.waitForFunction(
        (count) => document.querySelectorAll('[aria-labelledby="audit-users"] [data-testid="audit-entry"]').length > count,
        before,
      );
      const more = await rows.locator('td:nth-child(3)').allTextContents();
      assert.deepEqual([...new Set(more.map((text) => text.trim()))], ['users.login']);
    }

    // A filter that cannot be an action is not sent; Show every action lifts the filter.
    await page.getByLabel('Action', { exact: true }).fill('users login');
    await page.getByRole('button', { name: 'Filter', exact: true }).click();
    await page.getByText('An action is the service, a dot and the operation, as recorded').waitFor();
    await page.getByRole('button', { name: 'Show every action' }).click();
    await page.getByTestId('audit-filter-note').waitFor({ state: 'detached' });
    await loaded(page);
    assert.equal((await page.getByTestId('audit-verdict').textContent()).trim(), 'Every trail verifies');
    await page.context().close();
  });

  test('a customer and a teller are refused: no menu entry; the customer gets page not found, the teller and the API say administrators only', async (t) => {
    const customer = await newPage();
    const email = await signUp(customer, 'Ivy Example');
    assert.equal(await customer.getByRole('link', { name: 'Audit trail', exact: true }).count(), 0);
    await customer.goto(`${BANK_URL}/staff/audit`);
    await heading(customer, 'Page not found').waitFor();
    assert.equal(await customer.getByTestId('audit-entry').count(), 0);
    const { token } = await apiSignIn({ email, password: PASSWORD });
    const refused = await graphql('{ auditLog { users { entries(first: 1) { nodes { id } } } } }', {}, token);
    assert.equal(refused.errors?.[0]?.extensions?.code, 'FORBIDDEN', JSON.stringify(refused));
    assert.equal(refused.data?.auditLog?.users ?? null, null);
    await customer.context().close();

    if (!adminCredentials()) {
      t.skip('BANK_ADMIN_EMAIL/BANK_ADMIN_PASSWORD are not set and .data/secrets.env is missing: no teller');
      return;
    }
    const teller = await newTeller('Theo Teller');
    await teller.page.getByRole('link', { name: 'Loan applications' }).waitFor();
    assert.equal(await teller.page.getByRole('link', { name: 'Audit trail', exact: true }).count(), 0);
    await teller.page.goto(`${BANK_URL}/staff/audit`);
    await heading(teller.page, 'Audit trail').waitFor();
    await teller.page.getByTestId('load-failure').getByRole('alert').filter({ hasText: 'Only administrators can read the audit trail.' }).waitFor();
    assert.equal(await teller.page.getByTestId('audit-entry').count(), 0);
    assert.equal(await teller.page.getByTestId('audit-verdict').count(), 0);
    await teller.page.context().close();
  });
});

describe('the content security policy', () => {
  test('GraphiQL starts under its policy, and no page of any test broke its policy', async () => {
    const page = await newPage();
    await page.goto(`${BANK_URL}/graphiql/`);
    await page.locator('.graphiql-container').waitFor();
    // The editor is up, with its styles and workers (a refusal would be logged meanwhile).
    await page.locator('.monaco-editor').first().waitFor();
    await page.waitForTimeout(1000);
    await shot(page, 'graphiql');
    await page.context().close();
    assert.deepEqual(cspViolations, []);
  });
});
