import { describe, expect, it } from 'vitest';
import { ERROR_MESSAGES, NETWORK_MESSAGE, RATE_LIMITED_MESSAGE, UNKNOWN_MESSAGE } from '../lib/errors';
import {
  CODE_REFUSED_MESSAGE,
  describeTokenFailure,
  exchangeCode,
  readTokenAnswer,
  refreshTokens,
  revokeToken,
} from './tokenEndpoint';

const tokens = {
  access_token: 'access',
  token_type: 'Bearer',
  expires_in: 900,
  refresh_token: 'refresh',
  id_token: 'a.b.c',
  scope: 'openid email profile',
};

describe("the token endpoint's answer", () => {
  it('gives the tokens', () => {
    expect(readTokenAnswer(200, tokens, 'code')).toEqual({
      ok: true,
      tokens: { accessToken: 'access', refreshToken: 'refresh', expiresIn: 900, idToken: 'a.b.c' },
    });
    const { id_token: _, scope: __, ...refreshed } = tokens;
    expect(readTokenAnswer(200, refreshed, 'refresh')).toEqual({
      ok: true,
      tokens: { accessToken: 'access', refreshToken: 'refresh', expiresIn: 900 },
    });
  });

  it('is no use without the tokens it must have', () => {
    const unusable = { ok: false, failure: { code: 'UNKNOWN', message: UNKNOWN_MESSAGE, retryable: false } };
    expect(readTokenAnswer(200, { ...tokens, id_token: undefined }, 'code')).toEqual(unusable);
    expect(readTokenAnswer(200, { ...tokens, refresh_token: '' }, 'refresh')).toEqual(unusable);
    expect(readTokenAnswer(200, { ...tokens, expires_in: '900' }, 'refresh')).toEqual(unusable);
    expect(readTokenAnswer(200, { ...tokens, token_type: 'MAC' }, 'refresh')).toEqual(unusable);
    expect(readTokenAnswer(200, undefined, 'refresh')).toEqual(unusable);
  });
});

describe('what a failed token request says', () => {
  it("NGINX's 429: wait and try again (nothing reached the provider)", () => {
    expect(describeTokenFailure(429, undefined, 'code')).toEqual({ code: 'RATE_LIMITED', message: RATE_LIMITED_MESSAGE, retryable: true });
  });

  it('invalid_grant: the code is spent, or the session ended', () => {
    const body = { error: 'invalid_grant', error_description: 'the code is unknown or expired' };
    expect(describeTokenFailure(400, body, 'code')).toEqual({ code: 'UNAUTHENTICATED', message: CODE_REFUSED_MESSAGE, retryable: false });
    expect(describeTokenFailure(400, body, 'refresh')).toEqual({
      code: 'UNAUTHENTICATED',
      message: ERROR_MESSAGES.UNAUTHENTICATED,
      retryable: false,
    });
  });

  it('the provider unavailable: the bank failed, try again', () => {
    const failed = { code: 'INTERNAL', message: ERROR_MESSAGES.INTERNAL, retryable: true };
    expect(describeTokenFailure(503, { error: 'temporarily_unavailable' }, 'code')).toEqual(failed);
    expect(describeTokenFailure(502, undefined, 'refresh')).toEqual(failed);
  });

  it('anything else: something went wrong, start again', () => {
    const other = { code: 'UNKNOWN', message: UNKNOWN_MESSAGE, retryable: false };
    expect(describeTokenFailure(400, { error: 'invalid_request' }, 'code')).toEqual(other);
    expect(describeTokenFailure(401, { error: 'invalid_client' }, 'code')).toEqual(other);
  });
});

/** A fetch that records the request and answers `status` with `body` (or fails as a network error). */
function fakeFetch(status: number, body?: unknown) {
  const calls: { url: string; init: RequestInit }[] = [];
  const fetcher = async (url: string, init: RequestInit) => {
    calls.push({ url, init });
    if (status === 0) throw new TypeError('Failed to fetch');
    return new Response(body === undefined ? '' : JSON.stringify(body), { status });
  };
  return { calls, fetcher };
}

const formOf = (init: RequestInit) => Object.fromEntries(new URLSearchParams(String(init.body)));

describe('the requests', () => {
  it('exchange the code with the verifier, as a form, without credentials', async () => {
    const { calls, fetcher } = fakeFetch(200, tokens);
    const answer = await exchangeCode({ code: 'c0de', redirectUri: 'https://localhost:8443/callback', verifier: 'v'.repeat(43) }, fetcher);
    expect(answer.ok).toBe(true);
    expect(calls).toHaveLength(1);
    expect(calls[0].url).toBe('/auth/token');
    expect(calls[0].init.method).toBe('POST');
    expect(calls[0].init.credentials).toBe('omit');
    expect(new Headers(calls[0].init.headers).get('content-type')).toBe('application/x-www-form-urlencoded');
    expect(new Headers(calls[0].init.headers).has('authorization')).toBe(false);
    expect(formOf(calls[0].init)).toEqual({
      grant_type: 'authorization_code',
      client_id: 'bank-web',
      code: 'c0de',
      redirect_uri: 'https://localhost:8443/callback',
      code_verifier: 'v'.repeat(43),
    });
  });

  it('refresh with the refresh grant', async () => {
    const { calls, fetcher } = fakeFetch(400, { error: 'invalid_grant' });
    const answer = await refreshTokens('old-refresh', fetcher);
    expect(answer).toMatchObject({ ok: false, failure: { code: 'UNAUTHENTICATED', retryable: false } });
    expect(formOf(calls[0].init)).toEqual({ grant_type: 'refresh_token', client_id: 'bank-web', refresh_token: 'old-refresh' });
  });

  it('say when the provider cannot be reached, or answers with something else than JSON', async () => {
    expect(await refreshTokens('r', fakeFetch(0).fetcher)).toEqual({
      ok: false,
      failure: { code: 'NETWORK', message: NETWORK_MESSAGE, retryable: true },
    });
    expect(await refreshTokens('r', fakeFetch(429).fetcher)).toMatchObject({ ok: false, failure: { code: 'RATE_LIMITED' } });
  });

  it('revoke the refresh token at the revocation endpoint', async () => {
    const { calls, fetcher } = fakeFetch(200);
    expect(await revokeToken('refresh', fetcher)).toBe(true);
    expect(calls[0].url).toBe('/auth/revoke');
    expect(formOf(calls[0].init)).toEqual({ token: 'refresh', client_id: 'bank-web' });
    expect(await revokeToken('refresh', fakeFetch(0).fetcher)).toBe(false);
  });
});
