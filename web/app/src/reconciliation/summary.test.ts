import { describe, expect, it } from 'vitest';
import {
  ledgerProblems,
  mismatchCountText,
  serviceMismatchRows,
  summariseReconciliation,
  suspenseText,
  verdictText,
  type LedgerReportLike,
  type ReconciliationReportLike,
  type ServiceReportLike,
} from './summary';

const cleanLedger: LedgerReportLike = {
  ok: true,
  totals: [
    { amount: '0.00', currency: 'EUR' },
    { amount: '0', currency: 'JPY' },
  ],
  balanceMismatches: [],
  holdMismatches: [],
  unbalancedTransactions: [],
  overdrawnAccounts: [],
};

const cleanService: ServiceReportLike = { ok: true, mismatches: [], suspense: [] };

const report = (changes: Partial<ReconciliationReportLike> = {}): ReconciliationReportLike => ({
  ledger: cleanLedger,
  payments: cleanService,
  loans: cleanService,
  ...changes,
});

const mismatch = (kind: string, reference = 'payment:1') => ({ kind, reference, detail: 'the ledger says otherwise' });

describe('summariseReconciliation', () => {
  it('says the books agree when every part agrees', () => {
    const summary = summariseReconciliation(report());
    expect(summary).toEqual({
      ok: true,
      mismatches: 0,
      ledger: { ok: true, mismatches: 0 },
      payments: { ok: true, mismatches: 0 },
      loans: { ok: true, mismatches: 0 },
      suspense: 0,
    });
    expect(verdictText(summary)).toBe('Books agree');
  });

  it('counts the mismatches of every part', () => {
    const summary = summariseReconciliation(
      report({
        ledger: { ...cleanLedger, ok: false, unbalancedTransactions: ['t1'], overdrawnAccounts: ['a1', 'a2'] },
        payments: { ok: false, mismatches: [mismatch('MISSING_POSTING'), mismatch('STUCK', 'payment:2')], suspense: [] },
      }),
    );
    expect(summary.ok).toBe(false);
    expect(summary.ledger).toEqual({ ok: false, mismatches: 3 });
    expect(summary.payments).toEqual({ ok: false, mismatches: 2 });
    expect(summary.loans).toEqual({ ok: true, mismatches: 0 });
    expect(summary.mismatches).toBe(5);
    expect(verdictText(summary)).toBe('5 mismatches');
  });

  it('is not ok when any one part is not ok', () => {
    for (const part of ['ledger', 'payments', 'loans'] as const) {
      const broken = part === 'ledger' ? { ...cleanLedger, ok: false } : { ...cleanService, ok: false };
      const summary = summariseReconciliation(report({ [part]: broken }));
      expect(summary.ok, part).toBe(false);
      // A part that says it disagrees counts once even when it lists nothing.
      expect(summary[part], part).toEqual({ ok: false, mismatches: 1 });
      expect(verdictText(summary), part).toBe('1 mismatch');
    }
  });

  it('does not call a part ok that lists a mismatch', () => {
    const summary = summariseReconciliation(report({ loans: { ok: true, mismatches: [mismatch('AMOUNT_DIFFERS')], suspense: [] } }));
    expect(summary.ok).toBe(false);
    expect(summary.loans).toEqual({ ok: false, mismatches: 1 });
  });

  it('counts money in suspense apart from mismatches', () => {
    const item = { reference: 'return:1', amount: { amount: '5.00', currency: 'EUR' } };
    const summary = summariseReconciliation(
      report({ payments: { ...cleanService, suspense: [item, item] }, loans: { ...cleanService, suspense: [item] } }),
    );
    expect(summary.ok).toBe(true);
    expect(summary.suspense).toBe(3);
    expect(verdictText(summary)).toBe('Books agree');
  });
});

describe('ledgerProblems', () => {
  it('lists nothing for a clean ledger', () => {
    expect(ledgerProblems(cleanLedger)).toEqual([]);
  });

  it('lists currencies off zero and each id the ledger names, in words', () => {
    const rows = ledgerProblems({
      ...cleanLedger,
      ok: false,
      totals: [
        { amount: '0.00', currency: 'EUR' },
        { amount: '-12.50', currency: 'USD' },
      ],
      balanceMismatches: ['acc-1'],
      holdMismatches: ['acc-2'],
      unbalancedTransactions: ['tx-1'],
      overdrawnAccounts: ['acc-3'],
    });
    expect(rows).toEqual([
      { what: 'Currency does not sum to zero', reference: 'USD', detail: 'The balances in USD add up to -12.50 USD instead of zero.' },
      { what: 'Balance differs from its postings', reference: 'acc-1', detail: 'The account’s balance is not the sum of its postings.' },
      { what: 'Held amount differs from its holds', reference: 'acc-2', detail: 'The amount held on the account is not the sum of its pending holds.' },
      { what: 'Transaction does not balance', reference: 'tx-1', detail: 'The transaction’s postings do not add up to zero.' },
      { what: 'Overdrawn beyond its limit', reference: 'acc-3', detail: 'The customer account is beyond its overdraft limit.' },
    ]);
  });
});

describe('serviceMismatchRows', () => {
  it('puts each kind in plain words and keeps the reference and detail', () => {
    expect(serviceMismatchRows({ ok: false, mismatches: [mismatch('DUPLICATE_POSTING', 'loan-disbursement:9')], suspense: [] })).toEqual([
      { what: 'Posted more than once', reference: 'loan-disbursement:9', detail: 'the ledger says otherwise' },
    ]);
  });
});

describe('texts', () => {
  it('count mismatches and amounts in suspense in words', () => {
    expect(mismatchCountText(0)).toBe('No mismatches');
    expect(mismatchCountText(1)).toBe('1 mismatch');
    expect(mismatchCountText(12)).toBe('12 mismatches');
    expect(verdictText({ ok: false, mismatches: 0 })).toBe('1 mismatch');
    expect(suspenseText(0)).toBe('Nothing is held in suspense.');
    expect(suspenseText(1)).toMatch(/^1 amount is held in suspense/);
    expect(suspenseText(2)).toMatch(/^2 amounts are held in suspense/);
  });
});
