// What the UI tests share: where the bank is, the browser, the administrator's credentials, the
// GraphQL operation a request carries, asking the API directly, signing in through the bank's
// sign-in page (the OpenID Connect provider) and its token endpoint, the e-mails the bank sends
// (the mail catcher's Maildir: confirmation and password-reset links), the text messages it
// sends (the SMS log), opening an account as a customer does, and the README's screenshots.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, request } from 'playwright-core';

export const BANK_URL = (process.env.BANK_URL ?? 'https://localhost:8443').replace(/\/$/, '');
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const TIMEOUT = 15_000;

export function launchChromium() {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

/** The administrator's credentials: from the environment, else the local stack's secrets file. */
export function adminCredentials() {
  let email = process.env.BANK_ADMIN_EMAIL;
  let password = process.env.BANK_ADMIN_PASSWORD;
  const file = new URL('../../../.data/secrets.env', import.meta.url).pathname;
  if ((!email || !password) && existsSync(file)) {
    const vars = Object.fromEntries(
      readFileSync(file, 'utf8')
        .split('\n')
        .map((line) => line.match(/^(\w+)=(.*)$/))
        .filter(Boolean)
        .map((m) => [m[1], m[2]]),
    );
    email ??= vars.BANK_ADMIN_EMAIL;
    password ??= vars.BANK_ADMIN_PASSWORD;
  }
  return email && password ? { email, password } : undefined;
}

/** The GraphQL operation a request carries: queries go as GET (?operationName=…), mutations as POST. */
export function graphqlOperation(request) {
  const fromUrl = new URL(request.url()).searchParams.get('operationName');
  if (fromUrl) return fromUrl;
  try {
    return request.postDataJSON()?.operationName;
  } catch {
    return undefined;
  }
}

export const GRAPHQL_URL = /\/graphql(\?|$)/;

/**
 * One GraphQL request to the API through NGINX, outside any page (what a test sets up that the
 * app offers no screen for): the answer's JSON, `errors` included.
 */
export async function graphql(query, variables = {}, token) {
  const context = await request.newContext({ ignoreHTTPSErrors: true });
  try {
    const response = await context.post(`${BANK_URL}/graphql`, {
      data: { query, variables },
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });
    const text = await response.text();
    try {
      return JSON.parse(text);
    } catch {
      throw new Error(`the API answered ${response.status()}: ${text.slice(0, 200)}`);
    }
  } finally {
    await context.dispose();
  }
}

/** Signs in through the API: the access token and the user's id. */
export async function apiSignIn({ email, password }) {
  const reply = await graphql('mutation($i: LoginInput!) { login(input: $i) { accessToken user { id } } }', {
    i: { email, password },
  });
  if (!reply.data?.login) throw new Error(`signing ${email} in failed: ${JSON.stringify(reply.errors)}`);
  return { token: reply.data.login.accessToken, id: reply.data.login.user.id };
}

export const heading = (page, name) => page.getByRole('heading', { level: 1, name });

// Signing in to the app goes through the bank's OpenID Connect provider (docs/oidc.md): the
// app's Sign in sends the browser to the provider's login page (/auth/authorize), which sends it
// back to /callback with a code the app exchanges for the session.

/** The provider's login page's heading (the users service's words). */
export const PROVIDER_HEADING = 'Sign in to the bank';

/** What the app keeps of a session in the tab: the refresh token, or null when nobody is signed in. */
export const refreshTokenOf = (page) => page.evaluate(() => sessionStorage.getItem('bank.refreshToken'));

/** From the app's sign-in screen (`/signin`, or the page it is on) to the provider's login page. */
export async function openProviderLogin(page, { from = `${BANK_URL}/signin` } = {}) {
  if (from) await page.goto(from);
  await heading(page, 'Sign in').waitFor();
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await heading(page, PROVIDER_HEADING).waitFor();
  assert.equal(new URL(page.url()).pathname, '/auth/authorize');
}

/** Fills in the provider's login page and sends it. */
export async function submitProviderLogin(page, { email, password }) {
  await page.locator('#email').fill(email);
  await page.locator('#password').fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

/**
 * Signs in through the app as a person does: the app's Sign in, the provider's login page, back
 * through /callback to the accounts overview. `from`: the page whose Sign in is clicked (by
 * default /signin, opened first; null: the page the browser is on).
 */
export async function signIn(page, { email, password }, { from } = {}) {
  await openProviderLogin(page, { from });
  await submitProviderLogin(page, { email, password });
  await heading(page, 'Your accounts').waitFor();
}

/**
 * The provider's token endpoint asked directly, as a client would: the status and the JSON
 * answer (`fields`: the form, client_id added).
 */
export async function tokenEndpoint(fields) {
  const context = await request.newContext({ ignoreHTTPSErrors: true });
  try {
    const response = await context.post(`${BANK_URL}/auth/token`, { form: { client_id: 'bank-web', ...fields } });
    return { status: response.status(), body: await response.json().catch(() => undefined) };
  } finally {
    await context.dispose();
  }
}

// The e-mails the bank sends: the local stack's mail catcher keeps each one as a file of the
// Maildir BANK_MAIL_DIR (default .data/mail). They come asynchronously (the users service's
// outbox, Kafka, the notifications service, SMTP), so the tests wait for them.
export const MAIL_DIR = process.env.BANK_MAIL_DIR ?? new URL('../../../.data/mail', import.meta.url).pathname;
export const MAIL_TIMEOUT = 30_000;

/** Quoted-printable to text: soft line breaks (`=` at a line's end) joined, `=3D` and the like decoded. */
export function decodeQuotedPrintable(text) {
  const joined = text.replace(/=\r?\n/g, '');
  const bytes = [];
  for (let i = 0; i < joined.length; i++) {
    const hex = joined.slice(i + 1, i + 3);
    if (joined[i] === '=' && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(joined[i], 'utf8'));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/**
 * One message as the catcher stored it (RFC 5322): its headers by lower-case name (folded lines
 * joined) and its body decoded as its Content-Transfer-Encoding says (quoted-printable, base64,
 * or as it is).
 */
export function parseMail(raw) {
  const text = raw.replace(/\r\n/g, '\n');
  const split = text.indexOf('\n\n');
  const head = split < 0 ? text : text.slice(0, split);
  const rawBody = split < 0 ? '' : text.slice(split + 2);
  const headers = {};
  for (const line of head.replace(/\n[ \t]+/g, ' ').split('\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] ??= line.slice(colon + 1).trim();
  }
  const encoding = (headers['content-transfer-encoding'] ?? '').toLowerCase();
  let body = rawBody;
  if (encoding === 'quoted-printable') body = decodeQuotedPrintable(rawBody);
  else if (encoding === 'base64') body = Buffer.from(rawBody.replace(/\s+/g, ''), 'base64').toString('utf8');
  return { headers, body };
}

/** The e-mails to `address` in the Maildir (new/ and cur/), oldest first, each with when it arrived. */
export function mailsTo(address) {
  const found = [];
  for (const folder of ['new', 'cur']) {
    const dir = join(MAIL_DIR, folder);
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir)) {
      const file = join(dir, name);
      let raw;
      let arrived;
      try {
        raw = readFileSync(file, 'utf8');
        arrived = statSync(file).mtimeMs;
      } catch {
        continue; // moved away meanwhile
      }
      const mail = parseMail(raw);
      if (!(mail.headers.to ?? '').toLowerCase().includes(address.toLowerCase())) continue;
      found.push({ ...mail, file, arrived });
    }
  }
  return found.sort((a, b) => a.arrived - b.arrived);
}

/**
 * Waits for the newest e-mail to `address` that arrived at or after `since` (a time in ms) and
 * that `matching` accepts; throws after `timeout` ms, saying where it looked.
 */
export async function waitForMail(address, { since = 0, matching = () => true, timeout = MAIL_TIMEOUT } = {}) {
  const end = Date.now() + timeout;
  for (;;) {
    const mail = mailsTo(address)
      .filter((m) => m.arrived >= since && matching(m))
      .at(-1);
    if (mail) return mail;
    if (Date.now() > end) throw new Error(`no e-mail to ${address} in ${MAIL_DIR} after ${timeout / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The confirmation link in a mail's body (`…/verify-email?token=…`) and its token; undefined when it has none. */
export function confirmationLinkIn(body) {
  const match = body.match(/(https?:\/\/[^\s"<>]*\/verify-email\?token=([A-Za-z0-9_-]+))/);
  return match ? { link: match[1], token: match[2] } : undefined;
}

/** Waits for the newest confirmation e-mail to `address` (since `since`): its link and token. */
export async function confirmationLink(address, { since = 0, timeout } = {}) {
  const mail = await waitForMail(address, { since, timeout, matching: (m) => confirmationLinkIn(m.body) !== undefined });
  return confirmationLinkIn(mail.body);
}

/** The password-reset link in a mail's body (`…/reset-password?token=…`) and its token; undefined when it has none. */
export function resetLinkIn(body) {
  const match = body.match(/(https?:\/\/[^\s"<>]*\/reset-password\?token=([A-Za-z0-9_-]+))/);
  return match ? { link: match[1], token: match[2] } : undefined;
}

/** Waits for the newest password-reset e-mail to `address` (since `since`): its link and token. */
export async function resetLink(address, { since = 0, timeout } = {}) {
  const mail = await waitForMail(address, { since, timeout, matching: (m) => resetLinkIn(m.body) !== undefined });
  return { ...resetLinkIn(mail.body), subject: mail.headers.subject };
}

/** The app's own path of an e-mailed link (`/verify-email?token=…`), on BANK_URL. */
export const onBank = (link) => {
  const url = new URL(link);
  return `${BANK_URL}${url.pathname}${url.search}`;
};

// The text messages the bank sends: the local stack's stand-in SMS provider appends each one to
// BANK_SMS_LOG (default .data/sms.log) as a JSON line, {"to": "+44…", "body": "…"}. They come
// asynchronously (the notifications service's delivery), so the tests wait for them. The log has
// no times: a test notes where it ended (smsLogEnd) before the bank texts, and reads from there.
export const SMS_LOG = process.env.BANK_SMS_LOG ?? new URL('../../../.data/sms.log', import.meta.url).pathname;
export const SMS_TIMEOUT = 30_000;

/** Where the SMS log ends now (its size in bytes): later messages are after this. */
export function smsLogEnd() {
  try {
    return statSync(SMS_LOG).size;
  } catch {
    return 0; // nothing texted yet
  }
}

/** The text messages to `number` in the SMS log from the byte offset `from` on, oldest first. */
export function textsTo(number, { from = 0 } = {}) {
  let log;
  try {
    log = readFileSync(SMS_LOG);
  } catch {
    return [];
  }
  // A log that shrank was started again: all of it is new.
  const lines = log.subarray(from <= log.length ? from : 0).toString('utf8').split('\n');
  const found = [];
  for (const line of lines) {
    if (!line.trim()) continue;
    try {
      const message = JSON.parse(line);
      if (message.to === number) found.push(message);
    } catch {
      // a line still being written
    }
  }
  return found;
}

/**
 * Waits for the newest text message to `number` after the offset `from` (smsLogEnd) that
 * `matching` accepts; throws after `timeout` ms, saying where it looked.
 */
export async function waitForText(number, { from = 0, matching = () => true, timeout = SMS_TIMEOUT } = {}) {
  const end = Date.now() + timeout;
  for (;;) {
    const message = textsTo(number, { from })
      .filter(matching)
      .at(-1);
    if (message) return message;
    if (Date.now() > end) throw new Error(`no text message to ${number} in ${SMS_LOG} after ${timeout / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The six-digit code in a confirmation text ("…your confirmation code is 123456. …"); undefined when it has none. */
export const phoneCodeIn = (body) => body.match(/\bconfirmation code is (\d{6})\b/)?.[1];

/** Waits for the newest confirmation code texted to `number` (after the offset `from`). */
export async function phoneCode(number, { from = 0, timeout } = {}) {
  const message = await waitForText(number, { from, timeout, matching: (m) => phoneCodeIn(m.body ?? '') !== undefined });
  return phoneCodeIn(message.body);
}

/** A fictional UK mobile number (Ofcom's 07700 900000–900999 for drama) no other test texts at the same time. */
export const testPhoneNumber = () => `+447700900${String(Math.floor(Math.random() * 1000)).padStart(3, '0')}`;

/**
 * A customer opened through the API as a person does: `register`, the link from the e-mail the
 * bank sends, and `verifyEmail` with the link's token and the password, which signs in. The
 * access token and the user's id.
 */
export async function registerCustomer({ email, password, fullName }) {
  const since = Date.now();
  const registered = await graphql('mutation($i: RegisterInput!) { register(input: $i) { message } }', {
    i: { email, password, fullName },
  });
  if (!registered.data?.register) throw new Error(`register ${email} failed: ${JSON.stringify(registered.errors)}`);
  const { token } = await confirmationLink(email, { since });
  const verified = await graphql(
    'mutation($i: VerifyEmailInput!) { verifyEmail(input: $i) { accessToken user { id } } }',
    { i: { token, password } },
  );
  if (!verified.data?.verifyEmail) throw new Error(`confirming ${email} failed: ${JSON.stringify(verified.errors)}`);
  return { token: verified.data.verifyEmail.accessToken, id: verified.data.verifyEmail.user.id };
}

// The README's screenshots (docs/screenshots/), taken only with BANK_SCREENSHOTS=1 so that test
// runs do not rewrite them: 1280 wide, what a laptop shows (`fullPage`: the whole page; `from`:
// scrolled to that element), without the toasts of what the test did just before.
const README_SHOTS = process.env.BANK_SCREENSHOTS === '1';
const DOCS_SHOTS = new URL('../../../docs/screenshots/', import.meta.url).pathname;

export async function readmeShot(page, name, { fullPage = false, from } = {}) {
  if (!README_SHOTS) return;
  mkdirSync(DOCS_SHOTS, { recursive: true });
  const viewport = page.viewportSize();
  await page.setViewportSize({ width: 1280, height: 800 });
  if (from) await from.evaluate((element) => window.scrollTo(0, element.getBoundingClientRect().top + window.scrollY - 16));
  else await page.evaluate(() => window.scrollTo(0, 0));
  // Through the CSSOM: the pages' Content-Security-Policy refuses an injected <style>.
  const toasts = (hidden) =>
    page.evaluate((hide) => {
      for (const element of document.querySelectorAll('.toasts')) element.style.visibility = hide ? 'hidden' : '';
    }, hidden);
  await toasts(true);
  await page.screenshot({ path: `${DOCS_SHOTS}${name}.png`, fullPage });
  await toasts(false);
  if (viewport) await page.setViewportSize(viewport);
}
