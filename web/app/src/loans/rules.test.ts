import { describe, expect, it } from 'vitest';
import {
  defaultRepaymentAccount,
  eligibleAccounts,
  installmentLeft,
  productLabel,
  rangeText,
  rateText,
  validateApplication,
  validateQuoteForm,
  validateRepayment,
  type ProductLike,
} from './rules';

const eur = (amount: string) => ({ amount, currency: 'EUR' });

const personal: ProductLike = {
  code: 'PERSONAL_EUR',
  name: 'Personal loan',
  currency: 'EUR',
  annualRate: '6.90',
  minAmount: eur('500.00'),
  maxAmount: eur('25000.00'),
  minTermMonths: 6,
  maxTermMonths: 84,
};

const micro: ProductLike = {
  code: 'MICRO_EUR',
  name: 'Small loan',
  currency: 'EUR',
  annualRate: '0.00',
  minAmount: eur('10.00'),
  maxAmount: eur('1000.00'),
  minTermMonths: 1,
  maxTermMonths: 12,
};

const accounts = [
  { id: 'eur-1', currency: 'EUR', status: 'ACTIVE' },
  { id: 'usd-1', currency: 'USD', status: 'ACTIVE' },
  { id: 'eur-frozen', currency: 'EUR', status: 'FROZEN' },
  { id: 'eur-2', currency: 'EUR', status: 'ACTIVE' },
];

describe('products in words', () => {
  it('names the currency, the rate and the ranges', () => {
    expect(productLabel(personal)).toBe('Personal loan in EUR');
    expect(rateText('6.90')).toBe('6.90% a year');
    expect(rateText('0.00')).toBe('No interest');
    expect(rangeText(personal)).toBe('500.00 EUR to 25,000.00 EUR, over 6 to 84 months');
    expect(rangeText({ ...micro, maxTermMonths: 1 })).toBe('10.00 EUR to 1,000.00 EUR, over 1 months');
  });
});

describe('validateQuoteForm', () => {
  it('needs a product first', () => {
    expect(validateQuoteForm({ amount: '1000', termMonths: '12' }, undefined)).toEqual({
      errors: { product: 'Choose a loan.' },
    });
  });

  it('returns what to ask for when the amount and term fit the product', () => {
    expect(validateQuoteForm({ amount: ' 1 000,5 ', termMonths: ' 12 ' }, personal)).toEqual({
      errors: {},
      input: { productCode: 'PERSONAL_EUR', amount: '1000.50', termMonths: 12 },
    });
    // The bounds are inclusive.
    expect(validateQuoteForm({ amount: '10', termMonths: '1' }, micro).input).toEqual({
      productCode: 'MICRO_EUR',
      amount: '10.00',
      termMonths: 1,
    });
    expect(validateQuoteForm({ amount: '1000.00', termMonths: '12' }, micro).errors).toEqual({});
  });

  it('keeps the amount within the product, in the currency’s decimals', () => {
    const range = 'Choose an amount from 10.00 EUR to 1,000.00 EUR.';
    expect(validateQuoteForm({ amount: '9.99', termMonths: '3' }, micro)).toEqual({ errors: { amount: range } });
    expect(validateQuoteForm({ amount: '1000.01', termMonths: '3' }, micro)).toEqual({ errors: { amount: range } });
    expect(validateQuoteForm({ amount: '12.345', termMonths: '3' }, micro).errors.amount).toBe('EUR amounts have at most 2 decimals.');
    expect(validateQuoteForm({ amount: '', termMonths: '3' }, micro).errors.amount).toBe('Enter an amount.');
    expect(validateQuoteForm({ amount: '-50', termMonths: '3' }, micro).errors.amount).toBe('The amount must be more than zero.');
  });

  it('wants the term as whole months within the product', () => {
    expect(validateQuoteForm({ amount: '100', termMonths: '' }, micro).errors).toEqual({ termMonths: 'Enter the term in months.' });
    for (const bad of ['1.5', 'twelve', '-3', '1e2']) {
      expect(validateQuoteForm({ amount: '100', termMonths: bad }, micro).errors).toEqual({
        termMonths: 'Enter the term as a whole number of months.',
      });
    }
    expect(validateQuoteForm({ amount: '100', termMonths: '13' }, micro).errors).toEqual({
      termMonths: 'Choose a term from 1 to 12 months.',
    });
    expect(validateQuoteForm({ amount: '100', termMonths: '0' }, micro).errors.termMonths).toBe('Choose a term from 1 to 12 months.');
  });

  it('reports both fields at once and asks for nothing then', () => {
    const checked = validateQuoteForm({ amount: '5', termMonths: '99' }, micro);
    expect(Object.keys(checked.errors).sort()).toEqual(['amount', 'termMonths']);
    expect(checked.input).toBeUndefined();
  });
});

describe('eligibleAccounts', () => {
  it('offers only active accounts in the loan’s currency', () => {
    expect(eligibleAccounts(accounts, 'EUR').map((a) => a.id)).toEqual(['eur-1', 'eur-2']);
    expect(eligibleAccounts(accounts, 'USD').map((a) => a.id)).toEqual(['usd-1']);
    expect(eligibleAccounts(accounts, 'GBP')).toEqual([]);
  });
});

describe('validateApplication', () => {
  const form = { amount: '120', termMonths: '3', accountId: 'eur-1', purpose: '  A new bike ' };

  it('sends the quote’s fields, the account and the trimmed purpose', () => {
    expect(validateApplication(form, micro, accounts)).toEqual({
      errors: {},
      input: { productCode: 'MICRO_EUR', amount: '120.00', termMonths: 3, accountId: 'eur-1', purpose: 'A new bike' },
    });
    expect(validateApplication({ ...form, purpose: '   ' }, micro, accounts).input?.purpose).toBeNull();
  });

  it('needs an active account in the product’s currency', () => {
    expect(validateApplication({ ...form, accountId: '' }, micro, accounts).errors).toEqual({
      accountId: 'Choose the account the loan is paid into.',
    });
    expect(validateApplication({ ...form, accountId: 'usd-1' }, micro, accounts).errors).toEqual({
      accountId: 'Choose an active account in EUR.',
    });
    expect(validateApplication({ ...form, accountId: 'eur-frozen' }, micro, accounts).errors).toEqual({
      accountId: 'Choose an active account in EUR.',
    });
    expect(validateApplication({ ...form, accountId: 'usd-1' }, micro, [accounts[1]]).errors).toEqual({
      accountId: 'You need an active account in EUR to receive this loan. Open one first.',
    });
  });

  it('limits the purpose like the service', () => {
    expect(validateApplication({ ...form, purpose: 'x'.repeat(200) }, micro, accounts).errors).toEqual({});
    expect(validateApplication({ ...form, purpose: 'x'.repeat(201) }, micro, accounts).errors).toEqual({
      purpose: 'Keep the purpose to 200 characters.',
    });
    expect(validateApplication({ ...form, purpose: 'two\nlines' }, micro, accounts).errors).toEqual({
      purpose: 'The purpose cannot contain line breaks or control characters.',
    });
  });

  it('reports every problem at once, including the quote’s', () => {
    const checked = validateApplication({ amount: '1', termMonths: '', accountId: '', purpose: '' }, micro, accounts);
    expect(Object.keys(checked.errors).sort()).toEqual(['accountId', 'amount', 'termMonths']);
    expect(checked.input).toBeUndefined();
    expect(validateApplication(form, undefined, accounts).errors).toEqual({ product: 'Choose a loan.' });
  });
});

describe('validateRepayment', () => {
  const loan = { outstanding: eur('80.00') };

  it('accepts up to what is still owed', () => {
    expect(validateRepayment({ amount: '40', accountId: 'eur-1' }, loan, accounts)).toEqual({ errors: {}, amount: '40.00' });
    expect(validateRepayment({ amount: '80.00', accountId: 'eur-2' }, loan, accounts).amount).toBe('80.00');
  });

  it('refuses more than is owed, and amounts that are not amounts', () => {
    expect(validateRepayment({ amount: '80.01', accountId: 'eur-1' }, loan, accounts)).toEqual({
      errors: { amount: 'You owe 80.00 EUR; enter that or less.' },
      amount: undefined,
    });
    expect(validateRepayment({ amount: '0', accountId: 'eur-1' }, loan, accounts).errors.amount).toBe('The amount must be more than zero.');
    expect(validateRepayment({ amount: '1.001', accountId: 'eur-1' }, loan, accounts).errors.amount).toBe(
      'EUR amounts have at most 2 decimals.',
    );
  });

  it('repays only from an active account in the loan’s currency', () => {
    expect(validateRepayment({ amount: '10', accountId: 'usd-1' }, loan, accounts).errors).toEqual({
      accountId: 'Choose an active account in EUR to repay from.',
    });
    expect(validateRepayment({ amount: '10', accountId: '' }, loan, [accounts[1]]).errors).toEqual({
      accountId: 'You need an active account in EUR to repay from.',
    });
  });

  it('offers the account the loan was paid into first, while it can pay', () => {
    expect(defaultRepaymentAccount('eur-2', accounts, 'EUR')).toBe('eur-2');
    expect(defaultRepaymentAccount('eur-frozen', accounts, 'EUR')).toBe('eur-1');
    expect(defaultRepaymentAccount('eur-1', accounts, 'GBP')).toBe('');
  });
});

describe('installmentLeft', () => {
  it('is the installment less what repayments settled of it', () => {
    expect(installmentLeft({ amount: eur('40.00'), paid: eur('0.00') })).toBe('40.00');
    expect(installmentLeft({ amount: eur('86.45'), paid: eur('50.10') })).toBe('36.35');
    expect(installmentLeft({ amount: eur('40.00'), paid: eur('40.00') })).toBe('0.00');
    expect(installmentLeft({ amount: { amount: '5000', currency: 'JPY' }, paid: { amount: '1', currency: 'JPY' } })).toBe('4999');
  });
});
