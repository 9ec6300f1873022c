/**
 * Money as the API speaks it: decimal strings, never floating point. Each currency has a fixed
 * number of decimals (its exponent); an amount with more decimals is refused by the ledger, so
 * the forms refuse it first.
 */

export const CURRENCY_EXPONENTS: Readonly<Record<string, number>> = {
  EUR: 2,
  USD: 2,
  GBP: 2,
  CHF: 2,
  SEK: 2,
  JPY: 0,
};

/** The currencies an account can be opened in, in the order the form offers them. */
export const CURRENCIES = Object.keys(CURRENCY_EXPONENTS);

export function exponentOf(currency: string): number {
  const exponent = CURRENCY_EXPONENTS[currency.toUpperCase()];
  if (exponent === undefined) throw new Error(`unknown currency ${currency}`);
  return exponent;
}

/** Largest number of digits before the decimal point that a form accepts. */
export const MAX_INTEGER_DIGITS = 15;

export type ParsedAmount = { ok: true; amount: string } | { ok: false; error: string };

/**
 * Parses what a person typed into an amount field for `currency`: a positive number with at most
 * the currency's decimals. Spaces, underscores and apostrophes between digit groups are allowed,
 * a comma may stand for the decimal point when there is no dot, or group thousands before one. Returns the canonical decimal
 * string the API expects ("1234.50" for EUR, "1500" for JPY).
 */
export function parseAmount(input: string, currency: string): ParsedAmount {
  const exponent = exponentOf(currency);
  let text = input.trim().replace(/[\s_']/g, '');
  if (text === '') return { ok: false, error: 'Enter an amount.' };
  if (/^\d{1,3}(,\d{3})+(\.\d*)?$/.test(text) && text.includes('.')) {
    text = text.replace(/,/g, ''); // "1,234.50": commas group digits
  } else if (!text.includes('.') && (text.match(/,/g) ?? []).length === 1) {
    text = text.replace(',', '.'); // "12,50": a decimal comma
  }
  if (text.startsWith('-')) return { ok: false, error: 'The amount must be more than zero.' };
  if (text.startsWith('+')) text = text.slice(1);
  const match = /^(\d*)(?:\.(\d*))?$/.exec(text);
  if (!match || (match[1] === '' && (match[2] ?? '') === '')) {
    return { ok: false, error: 'Enter the amount as a number, for example 12.50.' };
  }
  const integer = match[1].replace(/^0+(?=\d)/, '') || '0';
  const fraction = (match[2] ?? '').replace(/0+$/, '');
  if (fraction.length > exponent) {
    return {
      ok: false,
      error:
        exponent === 0
          ? `${currency} amounts have no decimals.`
          : `${currency} amounts have at most ${exponent} decimals.`,
    };
  }
  if (integer.length > MAX_INTEGER_DIGITS) return { ok: false, error: 'The amount is too large.' };
  if (/^0*$/.test(integer + fraction)) return { ok: false, error: 'The amount must be more than zero.' };
  const amount = exponent === 0 ? integer : `${integer}.${fraction.padEnd(exponent, '0')}`;
  return { ok: true, amount };
}

/**
 * Formats a decimal string from the API for people: digit groups, the currency's decimals and
 * its code, e.g. "1,234.50 EUR", "-20.00 EUR", "1,500 JPY". Exact for any size (no floats).
 * With `signed`, positive amounts get a "+" (for transaction lines).
 */
export function formatMoney(amount: string, currency: string, options: { signed?: boolean } = {}): string {
  const exponent = CURRENCY_EXPONENTS[currency.toUpperCase()] ?? 2;
  const match = /^([+-]?)(\d*)(?:\.(\d*))?$/.exec(amount.trim());
  if (!match) return `${amount} ${currency}`;
  const negative = match[1] === '-';
  const integer = (match[2] ?? '').replace(/^0+(?=\d)/, '') || '0';
  let fraction = match[3] ?? '';
  // The API never sends more decimals than the currency has; trim trailing zeros if it did.
  while (fraction.length > exponent && fraction.endsWith('0')) fraction = fraction.slice(0, -1);
  fraction = fraction.padEnd(exponent, '0');
  const zero = /^0*$/.test(integer + fraction);
  const grouped = integer.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const sign = zero ? '' : negative ? '-' : options.signed ? '+' : '';
  return `${sign}${grouped}${fraction ? `.${fraction}` : ''} ${currency}`;
}

/** Whether a decimal string is below zero. */
export function isNegative(amount: string): boolean {
  return /^-/.test(amount.trim()) && !/^-0*(\.0*)?$/.test(amount.trim());
}

/**
 * A decimal string from the API or from `parseAmount` as a whole number of the currency's
 * minor units ("12.5" EUR → 1250n), exact at any size. Throws on text that is not a number or
 * has more decimals than the currency.
 */
export function toMinorUnits(amount: string, currency: string): bigint {
  const exponent = exponentOf(currency);
  const match = /^([+-]?)(\d*)(?:\.(\d*))?$/.exec(amount.trim());
  if (!match || (match[2] === '' && (match[3] ?? '') === '')) throw new Error(`not an amount: ${amount}`);
  const fraction = (match[3] ?? '').replace(/0+$/, '');
  if (fraction.length > exponent) throw new Error(`${amount} has more decimals than ${currency}`);
  const minor = BigInt((match[2] || '0') + fraction.padEnd(exponent, '0'));
  return match[1] === '-' ? -minor : minor;
}

/** -1, 0 or 1 as `a` is less than, equal to or more than `b` (both in `currency`). */
export function compareAmounts(a: string, b: string, currency: string): -1 | 0 | 1 {
  const difference = toMinorUnits(a, currency) - toMinorUnits(b, currency);
  return difference < 0n ? -1 : difference > 0n ? 1 : 0;
}

/** Minor units back to the decimal string the API expects (1250n EUR → "12.50"). */
export function fromMinorUnits(minor: bigint, currency: string): string {
  const exponent = exponentOf(currency);
  const negative = minor < 0n;
  const digits = (negative ? -minor : minor).toString().padStart(exponent + 1, '0');
  const integer = digits.slice(0, digits.length - exponent);
  const fraction = digits.slice(digits.length - exponent);
  return `${negative ? '-' : ''}${integer}${exponent ? `.${fraction}` : ''}`;
}
