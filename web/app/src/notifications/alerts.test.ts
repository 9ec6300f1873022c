import { describe, expect, it } from 'vitest';
import { RecentSet, alertKey, alertText, decideAlert, type AlertLike } from './alerts';

const alert = (over: Partial<AlertLike> = {}): AlertLike => ({
  transaction: { id: 't1', kind: 'TRANSFER' },
  account: { id: 'a1', number: 'XB1200012345678901', nickname: 'Savings pot' },
  amount: { amount: '25.50', currency: 'EUR' },
  direction: 'CREDIT',
  balanceAfter: { amount: '125.5', currency: 'EUR' },
  description: null,
  ...over,
});

describe('alertText', () => {
  it('says what came in, on which account, and the balance after', () => {
    expect(alertText(alert())).toBe('Received 25.50 EUR on Savings pot. Balance 125.50 EUR.');
  });

  it('names deposits, withdrawals, card payments and transfers out', () => {
    expect(alertText(alert({ transaction: { id: 't', kind: 'DEPOSIT' } }))).toMatch(/^Deposited 25\.50 EUR into Savings pot\./);
    expect(alertText(alert({ direction: 'DEBIT', transaction: { id: 't', kind: 'WITHDRAWAL' } }))).toMatch(/^Withdrew 25\.50 EUR from/);
    expect(alertText(alert({ direction: 'DEBIT', transaction: { id: 't', kind: 'HOLD_CAPTURE' } }))).toMatch(/^Paid 25\.50 EUR from/);
    expect(alertText(alert({ direction: 'DEBIT' }))).toMatch(/^Sent 25\.50 EUR from Savings pot\./);
  });

  it('names loan payouts and repayments', () => {
    const payout = alert({ transaction: { id: 't', kind: 'LOAN_DISBURSEMENT' }, amount: { amount: '120.00', currency: 'EUR' }, description: 'Loan payout' });
    expect(alertText(payout)).toBe(
      'Your loan of 120.00 EUR was paid into Savings pot. Balance 125.50 EUR.',
    );
    expect(alertText(alert({ direction: 'DEBIT', transaction: { id: 't', kind: 'LOAN_REPAYMENT' }, description: 'Loan repayment' }))).toBe(
      'Repaid 25.50 EUR on a loan from Savings pot. Balance 125.50 EUR.',
    );
  });

  it('names payments to other banks and their money coming back, without repeating the description', () => {
    const sent = alert({
      direction: 'DEBIT',
      transaction: { id: 't', kind: 'EXTERNAL_PAYMENT' },
      amount: { amount: '10.00', currency: 'EUR' },
      balanceAfter: { amount: '90', currency: 'EUR' },
      description: 'Payment to Acme GmbH',
    });
    expect(alertText(sent)).toBe('Sent 10.00 EUR from Savings pot to Acme GmbH. Balance 90.00 EUR.');
    const back = alert({
      transaction: { id: 't', kind: 'REVERSAL' },
      amount: { amount: '10.00', currency: 'EUR' },
      balanceAfter: { amount: '100', currency: 'EUR' },
      description: 'Returned payment to Acme GmbH',
    });
    expect(alertText(back)).toBe('Your payment of 10.00 EUR to Acme GmbH came back to Savings pot. Balance 100.00 EUR.');
    // Without the usual description: still plain words.
    expect(alertText({ ...sent, description: null })).toBe('Sent 10.00 EUR from Savings pot to another bank. Balance 90.00 EUR.');
    expect(alertText({ ...back, description: 'Correction' })).toBe('A payment of 10.00 EUR came back to Savings pot. Balance 100.00 EUR.');
  });

  it('names the creditor of a direct debit and of its refund', () => {
    const collected = alert({
      direction: 'DEBIT',
      transaction: { id: 't', kind: 'EXTERNAL_PAYMENT' },
      amount: { amount: '25.00', currency: 'EUR' },
      balanceAfter: { amount: '75', currency: 'EUR' },
      description: 'Direct debit by Stadtwerke',
    });
    expect(alertText(collected)).toBe('Stadtwerke collected 25.00 EUR from Savings pot by direct debit. Balance 75.00 EUR.');
    const refunded = alert({
      transaction: { id: 't', kind: 'REVERSAL' },
      amount: { amount: '25.00', currency: 'EUR' },
      balanceAfter: { amount: '100', currency: 'EUR' },
      description: 'Refunded direct debit by Stadtwerke',
    });
    expect(alertText(refunded)).toBe('Your direct debit of 25.00 EUR to Stadtwerke was refunded to Savings pot. Balance 100.00 EUR.');
  });

  it('uses the spaced account number without a nickname, the currency decimals and the description', () => {
    const text = alertText(
      alert({
        account: { id: 'a', number: 'XB1200012345678901', nickname: ' ' },
        amount: { amount: '1500', currency: 'JPY' },
        balanceAfter: { amount: '-20', currency: 'JPY' },
        description: 'Rent ',
      }),
    );
    expect(text).toBe('Received 1,500 JPY on XB12 0001 2345 6789 01: Rent. Balance -20 JPY.');
  });

  it('never shows a sign on the amount (the direction says it)', () => {
    expect(alertText(alert({ amount: { amount: '-3.00', currency: 'EUR' }, direction: 'DEBIT' }))).toMatch(/^Sent 3\.00 EUR/);
  });
});

describe('decideAlert', () => {
  it('shows a toast and refetches the account it touched', () => {
    expect(decideAlert(alert(), new RecentSet(), new RecentSet())).toEqual({
      action: 'show',
      toast: 'Received 25.50 EUR on Savings pot. Balance 125.50 EUR.',
      tone: 'success',
      refreshAccountIds: ['a1'],
    });
  });

  it('ignores the same posting delivered twice (a socket swap overlaps)', () => {
    const seen = new RecentSet();
    expect(decideAlert(alert(), seen, new RecentSet()).action).toBe('show');
    expect(decideAlert(alert(), seen, new RecentSet()).action).toBe('ignore');
  });

  it('treats both sides of a transfer between own accounts as two alerts', () => {
    const seen = new RecentSet();
    expect(decideAlert(alert(), seen, new RecentSet()).action).toBe('show');
    const other = alert({ direction: 'DEBIT', account: { id: 'a2', number: 'XB99', nickname: null } });
    expect(alertKey(other)).not.toBe(alertKey(alert()));
    expect(decideAlert(other, seen, new RecentSet()).action).toBe('show');
  });

  it('stays quiet for what this tab did itself (its form already told and refreshed)', () => {
    const own = new RecentSet();
    own.add('t1');
    expect(decideAlert(alert(), new RecentSet(), own)).toEqual({ action: 'quiet' });
  });
});

describe('RecentSet', () => {
  it('forgets the oldest beyond its limit', () => {
    const set = new RecentSet(2);
    set.add('a');
    set.add('b');
    set.add('a'); // refreshed: now b is the oldest
    set.add('c');
    expect([set.has('a'), set.has('b'), set.has('c'), set.size]).toEqual([true, false, true, 2]);
  });
});
