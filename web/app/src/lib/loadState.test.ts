import { describe, expect, it } from 'vitest';
import { RATE_LIMITED_MESSAGE, describeError } from './errors';
import { loadStatus, missing } from './loadState';

const internal = describeError({ graphQLErrors: [{ message: 'boom', extensions: { code: 'INTERNAL' } }] });
const limited = describeError({ networkError: new Error('Too Many Requests'), response: { status: 429 } });

describe('loadStatus', () => {
  it('is loading until the first answer', () => {
    expect(loadStatus({ fetching: true, loaded: false })).toBe('loading');
    // Nothing asked yet, nothing failed: still loading, never an empty list.
    expect(loadStatus({ fetching: false, loaded: false, empty: true })).toBe('loading');
  });

  it('shows what loaded, empty or not', () => {
    expect(loadStatus({ fetching: false, loaded: true })).toBe('ready');
    expect(loadStatus({ fetching: false, loaded: true, empty: true })).toBe('empty');
    expect(loadStatus({ fetching: false, loaded: true, empty: false })).toBe('ready');
  });

  it('keeps what loaded on screen while refreshing, and when a refresh fails', () => {
    expect(loadStatus({ fetching: true, loaded: true })).toBe('ready');
    expect(loadStatus({ fetching: false, loaded: true, failure: internal })).toBe('ready');
    expect(loadStatus({ fetching: false, loaded: true, empty: true, failure: limited })).toBe('empty');
  });

  it('tells a rate limit apart from other failures', () => {
    expect(limited.message).toBe(RATE_LIMITED_MESSAGE);
    expect(loadStatus({ fetching: false, loaded: false, failure: limited })).toBe('rateLimited');
    expect(loadStatus({ fetching: false, loaded: false, failure: internal })).toBe('failed');
    expect(loadStatus({ fetching: false, loaded: false, failure: describeError({ networkError: new Error('Failed to fetch') }) })).toBe(
      'failed',
    );
    const throttled = describeError({
      graphQLErrors: [{ message: 'too many failed sign-ins; try again in 30 s', extensions: { code: 'LIMIT_EXCEEDED' } }],
    });
    expect(loadStatus({ fetching: false, loaded: false, failure: throttled })).toBe('rateLimited');
  });

  it('shows loading again while a failed load is retried', () => {
    expect(loadStatus({ fetching: true, loaded: false, failure: limited })).toBe('loading');
    expect(loadStatus({ fetching: true, loaded: false, failure: internal })).toBe('loading');
  });

  it('calls an answer without what was asked for a failure worth retrying', () => {
    const gone = missing('We could not find that account.');
    expect(gone).toEqual({ code: 'NOT_FOUND', message: 'We could not find that account.', retryable: true });
    expect(loadStatus({ fetching: false, loaded: false, failure: gone })).toBe('failed');
  });
});
