import { describe, expect, it } from 'vitest';
import { SubmissionKeys } from './idempotency';

const counter = () => {
  let n = 0;
  return () => `key-${++n}`;
};

describe('SubmissionKeys', () => {
  it('uses one key for repeated submits of the same values until settled', () => {
    const keys = new SubmissionKeys(counter());
    const values = { action: 'transfer', amount: '10.00', to: 'XB12' };
    expect(keys.keyFor(values)).toBe('key-1');
    expect(keys.keyFor({ ...values })).toBe('key-1'); // double click or retry
    keys.keepForRetry();
    expect(keys.keyFor(values)).toBe('key-1'); // retry after a network error
    keys.settle();
    expect(keys.keyFor(values)).toBe('key-2'); // a new, deliberate submission
  });

  it('starts a new submission when the values change', () => {
    const keys = new SubmissionKeys(counter());
    expect(keys.keyFor({ amount: '10.00' })).toBe('key-1');
    expect(keys.keyFor({ amount: '11.00' })).toBe('key-2');
    expect(keys.keyFor({ amount: '10.00' })).toBe('key-3');
  });

  it('generates UUIDs by default', () => {
    const key = new SubmissionKeys().keyFor({});
    expect(key).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});
