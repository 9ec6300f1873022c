/**
 * GraphiQL fetcher for the bank supergraph.
 *
 * Everything is same-origin: the page is served by NGINX next to the router,
 * so queries/mutations go to `<origin>/graphql` over HTTP and subscriptions
 * go to `wss://<host>/graphql` (or `ws://` when the page itself is plain http)
 * using the graphql-ws protocol.
 *
 * HTTP requests carry whatever the user typed into GraphiQL's headers editor.
 * Browsers cannot set headers on a WebSocket handshake, so for subscriptions
 * the `Authorization` header value is forwarded in the graphql-ws
 * `connection_init` payload instead: `connectionParams = { Authorization }`.
 *
 * A `login` (or `verifyEmail`, `refreshToken`) run in a tab signs the page in: its token goes
 * into the headers like the Sign in panel's (SignIn.tsx). The bank refuses `login`, `register`
 * and `verifyEmail` on a request that carries a token (FORBIDDEN), so those go without it.
 */
import { createGraphiQLFetcher, type Fetcher, type FetcherOpts } from '@graphiql/toolkit';
import { createClient, type Client } from 'graphql-ws';
import { signedInFrom, triesPassword } from './headers';
import { signedIn } from './session';

export const httpUrl = new URL('/graphql', window.location.origin).toString();

export const wsUrl = (() => {
  const url = new URL('/graphql', window.location.origin);
  url.protocol = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.toString();
})();

const isAuthorization = (name: string) => name.toLowerCase() === 'authorization';

/** A value such as "" or "Bearer " (the editor's placeholder) carries no token. */
const isBlankCredential = (value: unknown) =>
  value == null || String(value).trim() === '' || /^bearer\s*$/i.test(String(value).trim());

/** Headers from the editor, minus an Authorization header that has no token yet. */
function withoutBlankAuthorization(headers: FetcherOpts['headers']): FetcherOpts['headers'] {
  if (!headers) return headers;
  return Object.fromEntries(
    Object.entries(headers).filter(([name, value]) => !(isAuthorization(name) && isBlankCredential(value))),
  );
}

/** Headers from the editor without any Authorization header. */
function withoutAuthorization(headers: FetcherOpts['headers']): FetcherOpts['headers'] {
  if (!headers) return headers;
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !isAuthorization(name)));
}

/** Case-insensitive lookup of the Authorization header value. */
function authorizationFrom(headers: FetcherOpts['headers']): string | undefined {
  const entry = Object.entries(headers ?? {}).find(([name]) => isAuthorization(name));
  return entry ? String(entry[1]) : undefined;
}

// One fetcher (and one lazy graphql-ws client) per Authorization value. When
// the user pastes a different token, the old socket is closed and a new one is
// opened with the new connectionParams on the next subscription.
let current: { authorization: string | undefined; client: Client; fetcher: Fetcher } | undefined;

function fetcherFor(authorization: string | undefined): Fetcher {
  if (current && current.authorization === authorization) return current.fetcher;
  current?.client.dispose();
  const client = createClient({
    url: wsUrl,
    lazy: true,
    connectionParams: authorization ? { Authorization: authorization } : {},
  });
  const fetcher = createGraphiQLFetcher({ url: httpUrl, wsClient: client });
  current = { authorization, client, fetcher };
  return fetcher;
}

/** Signs the page in when a result carries a token (a sign-in run in a tab). */
function noteSignIn(result: unknown) {
  const done = signedInFrom(result);
  if (done) signedIn(done);
}

const isAsyncIterable = (value: unknown): value is AsyncIterable<unknown> =>
  typeof (value as AsyncIterable<unknown> | null)?.[Symbol.asyncIterator] === 'function';

/**
 * The same results, each looked at on the way (HTTP answers come as an async iterable, for
 * @defer and @stream; subscriptions too). One iterator, itself iterable, that ends the results
 * when it is ended: GraphiQL stops a subscription with `[Symbol.asyncIterator]().return()`.
 */
function lookingAt(results: AsyncIterable<unknown>): AsyncIterableIterator<unknown> {
  const inner = results[Symbol.asyncIterator]();
  const iterator: AsyncIterableIterator<unknown> = {
    async next() {
      const step = await inner.next();
      if (!step.done) noteSignIn(step.value);
      return step;
    },
    return(value?: unknown) {
      return inner.return ? inner.return(value) : Promise.resolve({ done: true, value });
    },
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}

export const fetcher: Fetcher = async (params, opts) => {
  const headers = withoutBlankAuthorization(opts?.headers);
  // A sign-in goes over HTTP without the token; the socket (subscriptions) keeps it.
  const sent = triesPassword(opts?.documentAST ?? params.query, params.operationName) ? withoutAuthorization(headers) : headers;
  const result = await fetcherFor(authorizationFrom(headers))(params, { ...opts, headers: sent });
  if (isAsyncIterable(result)) return lookingAt(result) as typeof result;
  noteSignIn(result);
  return result;
};
