/**
 * The signed-in session. Signing in goes through the bank's OpenID Connect provider (the
 * authorization-code flow with PKCE, docs/oidc.md): `startSignIn` sends the browser to its login
 * page, and `/callback` (`completeSignIn`) exchanges the code it comes back with at the token
 * endpoint and asks the API who signed in (`me`, for the roles). Confirming an address
 * (`verifyEmail`) and choosing a new password from the e-mailed reset link (`resetPassword`)
 * sign in too; changing the password (`changePassword`) ends every session, this one included,
 * and answers with a new one, which replaces this tab's tokens.
 *
 * The access token lives in memory only; the refresh token in sessionStorage (this tab, until it
 * closes), so a reload signs back in by refreshing. The access token is refreshed at the token
 * endpoint before it expires (see refresh.ts); signing out revokes the refresh token at the
 * revocation endpoint. Refresh tokens rotate and a reused one revokes the whole session, so at
 * most one refresh is ever in flight.
 */
import { useSyncExternalStore } from 'react';
import { client, closeSubscriptions, connectSession, restartSubscriptions } from '../graphql/client';
import {
  ChangePasswordMutation,
  RegisterMutation,
  RequestPasswordResetMutation,
  ResetPasswordMutation,
  SessionUserQuery,
  VerifyEmailMutation,
} from '../graphql/operations';
import type { Role } from '../gql/graphql';
import { ERROR_MESSAGES, describeError, type Described } from '../lib/errors';
import {
  CLIENT_ID,
  STATE_MISMATCH_MESSAGE,
  authorizationUrl,
  issuerFor,
  readCallback,
  readPendingSignIn,
  redirectUriFor,
  type PendingSignIn,
} from './authorization';
import { ID_TOKEN_REFUSED_MESSAGE, checkIdToken, decodeIdToken } from './idToken';
import { codeChallenge, randomValue } from './pkce';
import { RefreshScheduler } from './refresh';
import { exchangeCode, refreshTokens, revokeToken, type TokenSet } from './tokenEndpoint';

export const REFRESH_TOKEN_KEY = 'bank.refreshToken';

/** The sign-in this tab started (state, nonce, PKCE verifier), until the provider answers. */
export const PENDING_SIGN_IN_KEY = 'bank.signIn';

/** Where the provider sends the browser back. */
export const CALLBACK_PATH = '/callback';

export interface SessionUser {
  id: string;
  email: string;
  fullName: string;
  roles: Role[];
}

export type SessionState =
  | { status: 'restoring' }
  | { status: 'signedOut'; reason?: string }
  | { status: 'signedIn'; user: SessionUser };

// On /callback the provider's answer makes the session; a refresh token kept from before waits.
let state: SessionState = {
  status: sessionStorage.getItem(REFRESH_TOKEN_KEY) && window.location.pathname !== CALLBACK_PATH ? 'restoring' : 'signedOut',
};
let accessToken: string | undefined;
const listeners = new Set<() => void>();

function setState(next: SessionState) {
  state = next;
  listeners.forEach((listener) => listener());
}

export const getSession = () => state;

export function useSession(): SessionState {
  return useSyncExternalStore(
    (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    getSession,
  );
}

export const isStaff = (user: SessionUser) => user.roles.includes('TELLER') || user.roles.includes('ADMIN');

export const isAdmin = (user: SessionUser) => user.roles.includes('ADMIN');

const scheduler = new RefreshScheduler(async () => refresh());

/** How long a restore waits before trying again after the bank could not be reached. */
const RESTORE_RETRY_MS = 5_000;

/**
 * Sign-up and confirming an address go without the access token: the bank refuses them with one
 * (FORBIDDEN), and an expired one would be refused by the router before the operation runs.
 */
const ANONYMOUS = { fetchOptions: {}, requestPolicy: 'network-only' } as const;

type Tokens = Pick<TokenSet, 'accessToken' | 'refreshToken' | 'expiresIn'>;

function accept(tokens: Tokens, user: SessionUser) {
  accessToken = tokens.accessToken;
  sessionStorage.setItem(REFRESH_TOKEN_KEY, tokens.refreshToken);
  scheduler.schedule(tokens.expiresIn);
  // The socket authenticated with the previous token: live subscriptions move to a new one.
  restartSubscriptions();
  setState({ status: 'signedIn', user: { id: user.id, email: user.email, fullName: user.fullName, roles: [...user.roles] } });
}

function clear(reason?: string) {
  scheduler.cancel();
  accessToken = undefined;
  sessionStorage.removeItem(REFRESH_TOKEN_KEY);
  closeSubscriptions();
  setState({ status: 'signedOut', reason });
}

type Loaded = { ok: true; user: SessionUser } | { ok: false; failure: Described };

/** Who an access token belongs to, with their roles (`me`), asked with that token. */
async function loadUser(token: string): Promise<Loaded> {
  const result = await client
    .query(SessionUserQuery, {}, { fetchOptions: { headers: { Authorization: `Bearer ${token}` } }, requestPolicy: 'network-only' })
    .toPromise();
  const me = result.data?.me;
  if (me) return { ok: true, user: me };
  const failure = describeError(result.error);
  // No user for a token the bank just issued: nothing waiting would fix.
  return { ok: false, failure: result.error ? failure : { ...failure, retryable: false } };
}

let inFlight: Promise<'ok' | 'retry' | 'failed'> | undefined;

/**
 * A password change under way: it ends this session and answers with a new one, so a refresh
 * waits for it (with the old refresh token it would be refused, and sign the tab out).
 */
let replacing: Promise<unknown> | undefined;

/** Exchanges the refresh token for a new pair at the token endpoint; one at a time. */
export function refresh(): Promise<'ok' | 'retry' | 'failed'> {
  inFlight ??= (async () => {
    if (replacing) await replacing.catch(() => undefined);
    const refreshToken = sessionStorage.getItem(REFRESH_TOKEN_KEY);
    if (!refreshToken) {
      if (state.status !== 'signedOut') clear();
      return 'failed' as const;
    }
    const answer = await refreshTokens(refreshToken);
    if (!answer.ok) {
      // The provider was not reached, or could not answer: the refresh token is still good.
      if (answer.failure.retryable) return 'retry' as const;
      // Replaced meanwhile by a new session (a password change): that one stands.
      if (state.status === 'signedIn' && sessionStorage.getItem(REFRESH_TOKEN_KEY) !== refreshToken) return 'ok' as const;
      clear(ERROR_MESSAGES.UNAUTHENTICATED);
      return 'failed' as const;
    }
    // The refresh token rotated: the one sent is spent, keep the new one whatever follows.
    sessionStorage.setItem(REFRESH_TOKEN_KEY, answer.tokens.refreshToken);
    accessToken = answer.tokens.accessToken;
    // The roles may have changed since: the user as the API knows them now.
    const loaded = await loadUser(answer.tokens.accessToken);
    if (loaded.ok) {
      accept(answer.tokens, loaded.user);
      return 'ok' as const;
    }
    if (state.status === 'signedIn') {
      accept(answer.tokens, state.user);
      return 'ok' as const;
    }
    if (loaded.failure.retryable) return 'retry' as const;
    clear(ERROR_MESSAGES.UNAUTHENTICATED);
    return 'failed' as const;
  })().finally(() => {
    inFlight = undefined;
  });
  return inFlight;
}

connectSession(
  () => accessToken,
  () => {
    if (state.status === 'signedIn') void refresh();
  },
);

/**
 * Signing in: a new state, nonce and PKCE verifier kept in this tab, and the browser sent to the
 * provider's login page. It comes back to /callback (`completeSignIn`). Throws when this browser
 * cannot make the challenge (no Web Crypto outside HTTPS).
 */
export async function startSignIn(): Promise<void> {
  const pending: PendingSignIn = { state: randomValue(), nonce: randomValue(), verifier: randomValue() };
  const challenge = await codeChallenge(pending.verifier);
  sessionStorage.setItem(PENDING_SIGN_IN_KEY, JSON.stringify(pending));
  window.location.assign(authorizationUrl(window.location.origin, { ...pending, challenge }));
}

/**
 * How the provider's answer ended: signed in; refused (start again: the answer is not this
 * tab's, the provider said no, the code is spent or the ID token is not for this sign-in); or
 * failed on the way (the token endpoint or the API could not be reached or was busy: Try again
 * goes on from there with the same code or tokens).
 */
export type CallbackOutcome =
  | { status: 'signedIn' }
  | { status: 'refused'; message: string }
  | { status: 'failed'; failure: Described };

/** A sign-in under way on /callback: its code, and its tokens once exchanged. */
interface Progress {
  search: string;
  code: string;
  pending: PendingSignIn;
  tokens?: TokenSet;
  subject?: string;
}

let progress: Progress | undefined;
let completing: { search: string; outcome: Promise<CallbackOutcome> } | undefined;

/**
 * The provider's answer (`search`: `?code=…&state=…&iss=…` or `?error=…`) against the sign-in
 * this tab started: the state (and `iss`) checked, the code exchanged with the verifier, the ID
 * token's issuer, audience and nonce checked, the user loaded, the session stored. Asked again
 * for the same answer, the same outcome (a code is exchanged once); `retry` goes on after a
 * failure.
 */
export function completeSignIn(search: string, { retry = false } = {}): Promise<CallbackOutcome> {
  if (!completing || completing.search !== search || retry) {
    completing = { search, outcome: finishSignIn(search) };
  }
  return completing.outcome;
}

/** A refusal: what this sign-in got is dropped, its session ended if it had one. */
function refuse(message: string): CallbackOutcome {
  const tokens = progress?.tokens;
  progress = undefined;
  if (tokens) void revokeToken(tokens.refreshToken);
  return { status: 'refused', message };
}

async function finishSignIn(search: string): Promise<CallbackOutcome> {
  const origin = window.location.origin;
  if (progress?.search !== search) {
    // One answer per sign-in started: the pending sign-in is spent whatever the answer says.
    const pending = readPendingSignIn(sessionStorage.getItem(PENDING_SIGN_IN_KEY));
    sessionStorage.removeItem(PENDING_SIGN_IN_KEY);
    progress = undefined;
    const answer = readCallback(search, { pending, issuer: issuerFor(origin) });
    if (!answer.ok) return refuse(answer.message);
    if (!pending) return refuse(STATE_MISMATCH_MESSAGE); // readCallback refuses an answer without one
    progress = { search, code: answer.code, pending };
  }
  const current = progress;

  if (!current.tokens) {
    const exchanged = await exchangeCode({ code: current.code, redirectUri: redirectUriFor(origin), verifier: current.pending.verifier });
    if (!exchanged.ok) {
      // Not reached, or busy: the code is not spent, the same exchange can be tried again.
      if (exchanged.failure.retryable) return { status: 'failed', failure: exchanged.failure };
      return refuse(exchanged.failure.message);
    }
    current.tokens = exchanged.tokens;
    const claims = decodeIdToken(exchanged.tokens.idToken);
    if (checkIdToken(claims, { issuer: issuerFor(origin), clientId: CLIENT_ID, nonce: current.pending.nonce })) {
      return refuse(ID_TOKEN_REFUSED_MESSAGE);
    }
    current.subject = claims?.sub as string;
  }

  const loaded = await loadUser(current.tokens.accessToken);
  if (!loaded.ok) {
    if (loaded.failure.retryable) return { status: 'failed', failure: loaded.failure };
    return refuse(loaded.failure.message);
  }
  // The access token and the ID token must name the same person.
  if (loaded.user.id !== current.subject) return refuse(ID_TOKEN_REFUSED_MESSAGE);

  // A session this tab kept from before ends: the new one replaces it.
  const previous = sessionStorage.getItem(REFRESH_TOKEN_KEY);
  if (previous && previous !== current.tokens.refreshToken) void revokeToken(previous);
  progress = undefined;
  accept(current.tokens, loaded.user);
  return { status: 'signedIn' };
}

/**
 * Asks to open an account. Nobody is signed in: the bank e-mails a link to the address, and
 * `verifyEmail` with the link's token and the same password signs in.
 */
export async function signUp(fullName: string, email: string, password: string) {
  return client
    .mutation(RegisterMutation, { input: { fullName: fullName.trim(), email: email.trim(), password } }, ANONYMOUS)
    .toPromise();
}

/** Confirms the address with the token from the e-mailed link and the password, which signs in. */
export async function verifyEmail(token: string, password: string) {
  const result = await client.mutation(VerifyEmailMutation, { input: { token, password } }, ANONYMOUS).toPromise();
  if (result.data?.verifyEmail) accept(result.data.verifyEmail, result.data.verifyEmail.user);
  return result;
}

/**
 * Asks for a password-reset link by e-mail, without the access token. The answer's message is
 * the same whether or not the address has an account.
 */
export async function requestPasswordReset(email: string) {
  return client.mutation(RequestPasswordResetMutation, { email: email.trim() }, ANONYMOUS).toPromise();
}

/**
 * Sets a new password with the token from the e-mailed reset link, without the access token.
 * The bank ends every session of the person and signs in: the new session is stored as
 * confirming an address stores it (a session this tab had before is revoked and replaced).
 */
export async function resetPassword(token: string, newPassword: string) {
  const result = await client.mutation(ResetPasswordMutation, { input: { token, newPassword } }, ANONYMOUS).toPromise();
  const payload = result.data?.resetPassword;
  if (payload) {
    // A session this tab kept (perhaps someone else's) ends: the new one replaces it.
    const previous = sessionStorage.getItem(REFRESH_TOKEN_KEY);
    if (previous && previous !== payload.refreshToken) void revokeToken(previous);
    accept(payload, payload.user);
  }
  return result;
}

/**
 * Changes the signed-in person's password. Every session of theirs ends, this one included: the
 * answer is a new session, whose tokens replace this tab's at once (the old access token is
 * refused a moment later). A refresh under way finishes first; refreshes asked for meanwhile wait
 * until it is answered.
 */
export async function changePassword(currentPassword: string, newPassword: string) {
  // A refresh already under way finishes first: its tokens must not replace the new session's.
  if (inFlight) await inFlight;
  const request = client
    .mutation(ChangePasswordMutation, { input: { currentPassword, newPassword } }, { requestPolicy: 'network-only' })
    .toPromise();
  replacing = request;
  try {
    const result = await request;
    if (result.data?.changePassword) accept(result.data.changePassword, result.data.changePassword.user);
    return result;
  } finally {
    if (replacing === request) replacing = undefined;
  }
}

/** Signing out: the refresh token's session is revoked at the provider, and this tab forgets it. */
export async function signOut() {
  const refreshToken = sessionStorage.getItem(REFRESH_TOKEN_KEY);
  // Best effort: the session ends here whatever the network does.
  if (refreshToken) await revokeToken(refreshToken);
  clear();
}

/** On start: sign back in from the refresh token this tab kept (again a little later if the bank was out of reach). */
export function restore() {
  if (state.status !== 'restoring') return;
  void refresh().then((outcome) => {
    if (outcome === 'retry') setTimeout(restore, RESTORE_RETRY_MS);
  });
}
