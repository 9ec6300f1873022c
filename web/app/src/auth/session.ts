/**
 * The signed-in session. The access token lives in memory only; the refresh token in
 * sessionStorage (this tab, until it closes), so a reload signs back in by refreshing. The
 * access token is refreshed before it expires (see refresh.ts); signing out revokes the refresh
 * token with `logout`. Refresh tokens rotate and a reused one revokes the whole session, so at
 * most one refresh is ever in flight.
 */
import { useSyncExternalStore } from 'react';
import { client, closeSubscriptions, connectSession, restartSubscriptions } from '../graphql/client';
import { LoginMutation, LogoutMutation, RefreshTokenMutation, RegisterMutation, VerifyEmailMutation } from '../graphql/operations';
import type { AuthFieldsFragment, Role } from '../gql/graphql';
import { RefreshScheduler } from './refresh';

export const REFRESH_TOKEN_KEY = 'bank.refreshToken';

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

let state: SessionState = { status: sessionStorage.getItem(REFRESH_TOKEN_KEY) ? 'restoring' : 'signedOut' };
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

/**
 * Sign-in, sign-up, confirming an address, refresh and sign-out go without the access token:
 * an expired one would be refused by the router before the operation runs.
 */
const ANONYMOUS = { fetchOptions: {}, requestPolicy: 'network-only' } as const;

function accept(payload: AuthFieldsFragment) {
  accessToken = payload.accessToken;
  sessionStorage.setItem(REFRESH_TOKEN_KEY, payload.refreshToken);
  scheduler.schedule(payload.expiresIn);
  // The socket authenticated with the previous token: live subscriptions move to a new one.
  restartSubscriptions();
  setState({ status: 'signedIn', user: { ...payload.user } });
}

function clear(reason?: string) {
  scheduler.cancel();
  accessToken = undefined;
  sessionStorage.removeItem(REFRESH_TOKEN_KEY);
  closeSubscriptions();
  setState({ status: 'signedOut', reason });
}

let inFlight: Promise<'ok' | 'retry' | 'failed'> | undefined;

/** Exchanges the refresh token for a new pair; one at a time. */
export function refresh(): Promise<'ok' | 'retry' | 'failed'> {
  inFlight ??= (async () => {
    const refreshToken = sessionStorage.getItem(REFRESH_TOKEN_KEY);
    if (!refreshToken) {
      if (state.status !== 'signedOut') clear();
      return 'failed' as const;
    }
    const result = await client
      .mutation(RefreshTokenMutation, { refreshToken }, ANONYMOUS)
      .toPromise();
    if (result.data?.refreshToken) {
      accept(result.data.refreshToken);
      return 'ok' as const;
    }
    if (result.error?.networkError && !result.error.graphQLErrors.length) return 'retry' as const;
    clear('Your session has ended. Please sign in again.');
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

export async function signIn(email: string, password: string) {
  const result = await client.mutation(LoginMutation, { input: { email: email.trim(), password } }, ANONYMOUS).toPromise();
  if (result.data?.login) accept(result.data.login);
  return result;
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

/** Confirms the address with the token from the e-mailed link and the password; signs in as `signIn` does. */
export async function verifyEmail(token: string, password: string) {
  const result = await client.mutation(VerifyEmailMutation, { input: { token, password } }, ANONYMOUS).toPromise();
  if (result.data?.verifyEmail) accept(result.data.verifyEmail);
  return result;
}

export async function signOut() {
  const refreshToken = sessionStorage.getItem(REFRESH_TOKEN_KEY);
  if (refreshToken) {
    // Best effort: the session ends here whatever the network does.
    await client.mutation(LogoutMutation, { refreshToken }, ANONYMOUS).toPromise().catch(() => undefined);
  }
  clear();
}

/** On start: sign back in from the refresh token this tab kept. */
export function restore() {
  if (state.status === 'restoring') void refresh();
}
