// What the UI tests share: where the bank is, the browser, the administrator's credentials, the
// GraphQL operation a request carries, asking the API directly, and the README's screenshots.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
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
