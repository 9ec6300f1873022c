// GraphiQL (/graphiql/, web/graphiql) ready to use: the example operations open as tabs, and
// signing in from the page's Sign in panel puts `Authorization: Bearer …` into the headers of
// the tab in view and of the next one chosen, with which the federated read answers; the SignIn
// tab signs in again with those headers (its request goes without the token).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { request } from 'playwright-core';
import { BANK_URL, TIMEOUT, launchChromium, registerCustomer } from './support.mjs';

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

/** A new customer with an account, through the API (the address confirmed with the e-mailed link). */
async function customer() {
  const email = `ui-graphiql-${randomUUID().slice(0, 12)}@example.com`;
  const password = 'correct horse 42';
  const post = async (query, variables, token) => {
    const response = await api.post('/graphql', {
      data: { query, variables },
      headers: token ? { Authorization: `Bearer ${token}` } : {},
    });
    const body = await response.json();
    assert.equal(body.errors, undefined, JSON.stringify(body.errors));
    return body.data;
  };
  const { token } = await registerCustomer({ email, password, fullName: 'Gina GraphiQL' });
  const { openAccount } = await post(
    'mutation ($input: OpenAccountInput!) { openAccount(input: $input) { number } }',
    { input: { kind: 'CHECKING', currency: 'EUR', nickname: 'Explorer' } },
    token,
  );
  return { email, password, number: openAccount.number };
}

const EXAMPLES = ['SignIn', 'MyAccounts', 'Transfer', 'TransactionAlerts'];
// Monaco shows spaces as no-break spaces; \s matches both.
const BEARER = /"Authorization":\s*"Bearer\s+[\w-]+\.[\w-]+\.[\w-]+"/;

describe('GraphiQL', () => {
  test('opens with the example tabs; signing in puts the token into the headers; the federated read answers', async () => {
    const { email, password, number } = await customer();
    const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    page.setDefaultTimeout(TIMEOUT);
    const refused = [];
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) refused.push(message.text());
    });

    await page.goto(`${BANK_URL}/graphiql/`);
    await page.locator('.monaco-editor').first().waitFor();
    const tabs = page.getByRole('tablist', { name: 'Select active operation' });
    for (const name of EXAMPLES) await tabs.getByRole('button', { name, exact: true }).waitFor();
    assert.equal(await tabs.getByRole('tab').count(), EXAMPLES.length);

    const headers = page.locator('.graphiql-editor-tool .view-lines');
    await headers.filter({ hasText: /"Authorization":\s*"Bearer\s*"/ }).waitFor();
    assert.equal(await headers.filter({ hasText: BEARER }).count(), 0);

    // The Sign in panel is open from the start.
    await page.getByLabel('E-mail address').fill(email);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('status').filter({ hasText: `Signed in as ${email}.` }).waitFor();
    await headers.filter({ hasText: BEARER }).waitFor();

    // Another tab gets the token too, and the federated read answers with it.
    await tabs.getByRole('button', { name: 'MyAccounts', exact: true }).click();
    await page.locator('.graphiql-query-editor .view-lines').filter({ hasText: 'query MyAccounts' }).waitFor();
    await headers.filter({ hasText: BEARER }).waitFor();
    // GraphiQL reads the operation's name from the editor 100 ms after its text changes; run
    // before that and it sends the previous tab's name (SignIn), which the router refuses.
    await page.waitForTimeout(500);
    await page.getByRole('button', { name: /^Execute query/ }).click();
    const response = page.locator('.graphiql-response .view-lines');
    await response.filter({ hasText: number }).waitFor();
    const text = await response.textContent();
    assert.match(text, /"balance"/);
    assert.match(text, /"transactions"/);
    assert.doesNotMatch(text, /"errors"/);

    // Signing in again from the SignIn tab, whose headers carry the token now: the bank refuses a
    // password sent with a token (FORBIDDEN), so the page sends that request without it.
    await tabs.getByRole('button', { name: 'SignIn', exact: true }).click();
    await page.locator('.graphiql-query-editor .view-lines').filter({ hasText: 'mutation SignIn' }).waitFor();
    await headers.filter({ hasText: BEARER }).waitFor();
    await page.getByRole('button', { name: 'Variables' }).click();
    await page.locator('.graphiql-editor-tool .monaco-editor').first().click();
    await page.keyboard.press('Control+A');
    await page.keyboard.insertText(JSON.stringify({ input: { email, password } }));
    // What the editor closed by itself ("}) stays after the cursor.
    await page.keyboard.press('Control+Shift+End');
    await page.keyboard.press('Delete');
    await page.waitForTimeout(500);
    await page.getByRole('button', { name: /^Execute query/ }).click();
    await response.filter({ hasText: /"login"|"errors"/ }).waitFor();
    const signedIn = await response.textContent();
    assert.doesNotMatch(signedIn, /"errors"|FORBIDDEN/);
    assert.match(signedIn, /"accessToken"/);
    assert.deepEqual(refused, []);
    await context.close();
  });
});
