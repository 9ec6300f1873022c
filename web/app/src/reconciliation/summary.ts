/**
 * A reconciliation report summed up, without React: the ledger's problems as rows like the
 * services' mismatches, how many things disagree in each part and overall, and the verdict.
 */
import { formatMoney } from '../lib/money';
import { LEDGER_PROBLEM_DETAILS, LEDGER_PROBLEM_LABELS, mismatchKindLabel } from './messages';

interface MoneyLike {
  amount: string;
  currency: string;
}

/** The ledger's invariant check, as far as the summary cares. */
export interface LedgerReportLike {
  ok: boolean;
  totals: readonly MoneyLike[];
  balanceMismatches: readonly string[];
  holdMismatches: readonly string[];
  unbalancedTransactions: readonly string[];
  overdrawnAccounts: readonly string[];
}

/** One service's comparison with the ledger, as far as the summary cares. */
export interface ServiceReportLike {
  ok: boolean;
  mismatches: readonly { kind: string; reference: string; detail: string }[];
  suspense: readonly unknown[];
}

export interface ReconciliationReportLike {
  ledger: LedgerReportLike;
  payments: ServiceReportLike;
  loans: ServiceReportLike;
}

/** One row of a part's table of mismatches: what, about which reference, and the detail. */
export interface MismatchRow {
  what: string;
  reference: string;
  detail: string;
}

export interface PartSummary {
  ok: boolean;
  /** At least 1 when the part is not ok, even if it listed nothing. */
  mismatches: number;
}

export interface ReconciliationSummary {
  /** ledger.ok && payments.ok && loans.ok, and none of them listed a mismatch. */
  ok: boolean;
  mismatches: number;
  ledger: PartSummary;
  payments: PartSummary;
  loans: PartSummary;
  /** Amounts held in suspense (not mismatches: a task for staff). */
  suspense: number;
}

const isZero = (amount: string) => !/[1-9]/.test(amount);

/** The ledger's report as rows: currencies that do not sum to zero, then each listed id. */
export function ledgerProblems(ledger: LedgerReportLike): MismatchRow[] {
  const rows: MismatchRow[] = ledger.totals
    .filter((total) => !isZero(total.amount))
    .map((total) => ({
      what: LEDGER_PROBLEM_LABELS.NOT_ZERO,
      reference: total.currency,
      detail: `The balances in ${total.currency} add up to ${formatMoney(total.amount, total.currency)} instead of zero.`,
    }));
  const listed = [
    ['BALANCE', ledger.balanceMismatches],
    ['HOLDS', ledger.holdMismatches],
    ['UNBALANCED', ledger.unbalancedTransactions],
    ['OVERDRAWN', ledger.overdrawnAccounts],
  ] as const;
  for (const [kind, ids] of listed) {
    for (const id of ids) rows.push({ what: LEDGER_PROBLEM_LABELS[kind], reference: id, detail: LEDGER_PROBLEM_DETAILS[kind] });
  }
  return rows;
}

/** A service's mismatches as rows, each kind in plain words. */
export function serviceMismatchRows(service: ServiceReportLike): MismatchRow[] {
  return service.mismatches.map((mismatch) => ({
    what: mismatchKindLabel(mismatch.kind),
    reference: mismatch.reference,
    detail: mismatch.detail,
  }));
}

/**
 * A part agrees when it says so and lists nothing. A part that says it does not agree counts
 * as at least one mismatch, so the verdict never reads "0 mismatches".
 */
function part(ok: boolean, listed: number): PartSummary {
  const agrees = ok && listed === 0;
  return { ok: agrees, mismatches: agrees ? 0 : Math.max(listed, 1) };
}

export function summariseReconciliation(report: ReconciliationReportLike): ReconciliationSummary {
  const ledger = part(report.ledger.ok, ledgerProblems(report.ledger).length);
  const payments = part(report.payments.ok, report.payments.mismatches.length);
  const loans = part(report.loans.ok, report.loans.mismatches.length);
  return {
    ok: ledger.ok && payments.ok && loans.ok,
    mismatches: ledger.mismatches + payments.mismatches + loans.mismatches,
    ledger,
    payments,
    loans,
    suspense: report.payments.suspense.length + report.loans.suspense.length,
  };
}

/** 0 → "No mismatches", 1 → "1 mismatch", 3 → "3 mismatches". */
export function mismatchCountText(count: number): string {
  if (count === 0) return 'No mismatches';
  return count === 1 ? '1 mismatch' : `${count} mismatches`;
}

/** The page's verdict: "Books agree", or how many things disagree. */
export function verdictText(summary: Pick<ReconciliationSummary, 'ok' | 'mismatches'>): string {
  return summary.ok ? 'Books agree' : mismatchCountText(Math.max(summary.mismatches, 1));
}

/** 1 → "1 amount is held in suspense …", 2 → "2 amounts are held …". */
export function suspenseText(count: number): string {
  if (count === 0) return 'Nothing is held in suspense.';
  return count === 1
    ? '1 amount is held in suspense for a closed account, waiting to be paid out.'
    : `${count} amounts are held in suspense for closed accounts, waiting to be paid out.`;
}
