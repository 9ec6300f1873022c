import { describe, expect, it } from 'vitest';
import {
  CURRENCIES,
  compareAmounts,
  exponentOf,
  formatMoney,
  fromMinorUnits,
  isNegative,
  parseAmount,
  toMinorUnits,
} from './money';

describe('exponentOf', () => {
  it('knows every currency the bank offers', () => {
    expect(CURRENCIES).toEqual(['EUR', 'USD', 'GBP', 'CHF', 'SEK', 'JPY']);
    expect(exponentOf('EUR')).toBe(2);
    expect(exponentOf('jpy')).toBe(0);
    expect(() => exponentOf('XYZ')).toThrow(/unknown currency/);
  });
});

describe('parseAmount', () => {
  const ok = (input: string, currency: string) => parseAmount(input, currency);

  it('returns canonical decimal strings with the currency exponent', () => {
    expect(ok('12.5', 'EUR')).toEqual({ ok: true, amount: '12.50' });
    expect(ok('10', 'USD')).toEqual({ ok: true, amount: '10.00' });
    expect(ok('0.01', 'GBP')).toEqual({ ok: true, amount: '0.01' });
    expect(ok('.5', 'CHF')).toEqual({ ok: true, amount: '0.50' });
    expect(ok('007.10', 'SEK')).toEqual({ ok: true, amount: '7.10' });
    expect(ok('1500', 'JPY')).toEqual({ ok: true, amount: '1500' });
    expect(ok('1500.', 'JPY')).toEqual({ ok: true, amount: '1500' });
    expect(ok('1500.00', 'JPY')).toEqual({ ok: true, amount: '1500' });
  });

  it('accepts digit-group separators, a decimal comma and surrounding spaces', () => {
    expect(ok(' 1 234,5 ', 'EUR')).toEqual({ ok: true, amount: '1234.50' });
    expect(ok("1'000.25", 'CHF')).toEqual({ ok: true, amount: '1000.25' });
    expect(ok('+3', 'EUR')).toEqual({ ok: true, amount: '3.00' });
    expect(ok('1,234.50', 'USD')).toEqual({ ok: true, amount: '1234.50' });
    expect(ok('12,345,678.9', 'USD')).toEqual({ ok: true, amount: '12345678.90' });
  });

  it('refuses more decimals than the currency has', () => {
    expect(ok('1.234', 'EUR')).toEqual({ ok: false, error: 'EUR amounts have at most 2 decimals.' });
    expect(ok('1.5', 'JPY')).toEqual({ ok: false, error: 'JPY amounts have no decimals.' });
    // Trailing zeros are not extra precision.
    expect(ok('1.2300', 'EUR')).toEqual({ ok: true, amount: '1.23' });
  });

  it('refuses empty, zero, negative, malformed and huge amounts', () => {
    expect(ok('', 'EUR')).toMatchObject({ ok: false, error: 'Enter an amount.' });
    expect(ok('0', 'EUR')).toMatchObject({ ok: false, error: 'The amount must be more than zero.' });
    expect(ok('0.00', 'EUR')).toMatchObject({ ok: false });
    expect(ok('-5', 'EUR')).toMatchObject({ ok: false, error: 'The amount must be more than zero.' });
    for (const bad of ['abc', '1.2.3', '1e3', '12,34,56', '.', '0x10', '1,234.5.6']) {
      expect(ok(bad, 'EUR')).toMatchObject({ ok: false });
    }
    expect(ok('1'.repeat(16), 'EUR')).toEqual({ ok: false, error: 'The amount is too large.' });
    expect(ok('9'.repeat(15), 'EUR')).toEqual({ ok: true, amount: `${'9'.repeat(15)}.00` });
  });
});

describe('formatMoney', () => {
  it('groups digits and pads to the currency exponent', () => {
    expect(formatMoney('1234.5', 'EUR')).toBe('1,234.50 EUR');
    expect(formatMoney('0', 'USD')).toBe('0.00 USD');
    expect(formatMoney('1000000', 'JPY')).toBe('1,000,000 JPY');
    expect(formatMoney('12.30', 'GBP')).toBe('12.30 GBP');
  });

  it('is exact beyond floating-point precision', () => {
    expect(formatMoney('123456789012345678.91', 'EUR')).toBe('123,456,789,012,345,678.91 EUR');
  });

  it('shows signs, and none on zero', () => {
    expect(formatMoney('-20.00', 'EUR')).toBe('-20.00 EUR');
    expect(formatMoney('20.00', 'EUR', { signed: true })).toBe('+20.00 EUR');
    expect(formatMoney('-0.00', 'EUR', { signed: true })).toBe('0.00 EUR');
  });

  it('falls back to two decimals for a currency it does not know', () => {
    expect(formatMoney('5', 'XAU')).toBe('5.00 XAU');
    expect(formatMoney('not a number', 'EUR')).toBe('not a number EUR');
  });
});

describe('isNegative', () => {
  it('reads the sign of a decimal string', () => {
    expect(isNegative('-1.00')).toBe(true);
    expect(isNegative('1.00')).toBe(false);
    expect(isNegative('-0.00')).toBe(false);
  });
});

describe('toMinorUnits and compareAmounts', () => {
  it('counts minor units exactly', () => {
    expect(toMinorUnits('12.5', 'EUR')).toBe(1250n);
    expect(toMinorUnits('-0.01', 'USD')).toBe(-1n);
    expect(toMinorUnits('1500', 'JPY')).toBe(1500n);
    expect(toMinorUnits('123456789012345678.91', 'EUR')).toBe(12345678901234567891n);
    expect(toMinorUnits('10.00', 'EUR')).toBe(1000n);
  });

  it('refuses text that is not an amount of the currency', () => {
    expect(() => toMinorUnits('abc', 'EUR')).toThrow();
    expect(() => toMinorUnits('1.234', 'EUR')).toThrow();
    expect(() => toMinorUnits('1.5', 'JPY')).toThrow();
  });

  it('turns minor units back into decimal strings', () => {
    expect(fromMinorUnits(1250n, 'EUR')).toBe('12.50');
    expect(fromMinorUnits(5n, 'USD')).toBe('0.05');
    expect(fromMinorUnits(-101n, 'EUR')).toBe('-1.01');
    expect(fromMinorUnits(1500n, 'JPY')).toBe('1500');
    expect(fromMinorUnits(0n, 'EUR')).toBe('0.00');
  });

  it('compares without floating point', () => {
    expect(compareAmounts('10.00', '10', 'EUR')).toBe(0);
    expect(compareAmounts('9.99', '10.00', 'EUR')).toBe(-1);
    expect(compareAmounts('25000.01', '25000.00', 'EUR')).toBe(1);
    expect(compareAmounts('90071992547409.93', '90071992547409.92', 'EUR')).toBe(1);
  });
});
