/**
 * The GraphQL client: same origin as the page (NGINX serves both), HTTP for queries and
 * mutations, graphql-ws over `wss://<host>/graphql` for subscriptions. The access token is read
 * from the session for every request; browsers cannot set headers on a WebSocket handshake, so
 * subscriptions carry it in the graphql-ws `connection_init` payload.
 */
import { Client, cacheExchange, fetchExchange, mapExchange, subscriptionExchange } from 'urql';
import { createClient as createWsClient } from 'graphql-ws';
import { LiveSocket } from './liveSocket';

export const httpUrl = new URL('/graphql', window.location.origin).toString();

export const wsUrl = (() => {
  const url = new URL('/graphql', window.location.origin);
  url.protocol = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.toString();
})();

type TokenSource = () => string | undefined;
type UnauthenticatedHandler = () => void;

let accessToken: TokenSource = () => undefined;
let onUnauthenticated: UnauthenticatedHandler = () => {};

/** Wired by the session module (kept apart to avoid an import cycle). */
export function connectSession(tokens: TokenSource, unauthenticated: UnauthenticatedHandler) {
  accessToken = tokens;
  onUnauthenticated = unauthenticated;
}

const authorization = (): Record<string, string> => {
  const token = accessToken();
  return token ? { Authorization: `Bearer ${token}` } : {};
};

/**
 * One lazy socket, authenticated in `connection_init` with the token of the moment. After a
 * token refresh `restartSubscriptions()` moves every subscription to a new socket with the new
 * token; a lost connection is retried (at most 30 s apart) with the current token.
 */
const live = new LiveSocket({
  create: () =>
    createWsClient({
      url: wsUrl,
      lazy: true,
      retryAttempts: Number.POSITIVE_INFINITY,
      retryWait: (retries) =>
        new Promise((resolve) => setTimeout(resolve, Math.min(30_000, 1000 * 2 ** retries) + Math.random() * 1000)),
      connectionParams: () => authorization(),
    }),
  onAuthFailure: () => onUnauthenticated(),
});

/** A new access token: subscriptions continue on a socket authenticated with it. */
export function restartSubscriptions() {
  live.restart();
}

/** Signed out: subscriptions end and the socket closes. */
export function closeSubscriptions() {
  live.close();
}

/**
 * Operations of signing in and up, whose refusals the session module reads itself: an
 * UNAUTHENTICATED there is an answer, not a sign that the session's token expired.
 */
const AUTH_OPERATIONS = new Set(['Register', 'VerifyEmail', 'SessionUser', 'RequestPasswordReset', 'ResetPassword']);

/**
 * Operations that check the signed-in person's password: their UNAUTHENTICATED is a wrong
 * password; only the router's 401 (a token expired or ended) means the session's token.
 */
const PASSWORD_CHECKS = new Set(['ChangePassword']);

export const client = new Client({
  url: httpUrl,
  requestPolicy: 'cache-and-network',
  fetchOptions: () => ({ headers: authorization() }),
  exchanges: [
    cacheExchange,
    mapExchange({
      onError(error, operation) {
        const name = operation.query.definitions.find((d) => d.kind === 'OperationDefinition')?.name?.value;
        const expired =
          error.response?.status === 401 ||
          (!PASSWORD_CHECKS.has(name ?? '') && error.graphQLErrors.some((e) => e.extensions?.code === 'UNAUTHENTICATED'));
        // An expired or revoked token outside sign-in: try a refresh (or sign out).
        if (expired && !AUTH_OPERATIONS.has(name ?? '')) onUnauthenticated();
      },
    }),
    fetchExchange,
    subscriptionExchange({
      forwardSubscription(request) {
        const input = { ...request, query: request.query ?? '' };
        return {
          subscribe(sink) {
            const unsubscribe = live.subscribe(input, sink);
            return { unsubscribe };
          },
        };
      },
    }),
  ],
});
