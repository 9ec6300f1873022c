/**
 * What a live transaction alert does on screen, decided without React: the toast text, whether
 * it is shown at all, and which balances refetch.
 */
import { formatMoney } from '../lib/money';

export interface AlertLike {
  transaction: { id: string; kind?: string | null };
  account: { id: string; number: string; nickname?: string | null };
  amount: { amount: string; currency: string };
  direction: 'CREDIT' | 'DEBIT';
  balanceAfter: { amount: string; currency: string };
  description?: string | null;
}

/** A set that forgets its oldest members beyond `limit`. */
export class RecentSet {
  private readonly items = new Set<string>();

  constructor(private readonly limit = 500) {}

  has(key: string): boolean {
    return this.items.has(key);
  }

  add(key: string): void {
    this.items.delete(key);
    this.items.add(key);
    while (this.items.size > this.limit) this.items.delete(this.items.values().next().value as string);
  }

  get size(): number {
    return this.items.size;
  }
}

const spaced = (number: string) => number.replace(/\s+/g, '').replace(/(.{4})(?=.)/g, '$1 ');

const SAYS_ITSELF = new Set(['LOAN_DISBURSEMENT', 'LOAN_REPAYMENT', 'EXTERNAL_PAYMENT', 'REVERSAL']);

/** "Payment to Acme GmbH" or "Returned payment to Acme GmbH" → "Acme GmbH". */
function creditorOf(description: string | null | undefined): string | undefined {
  const match = /^(?:returned )?payment to (.+)$/i.exec(description?.trim() ?? '');
  return match?.[1].trim() || undefined;
}

/** "Direct debit by Stadtwerke" or "Refunded direct debit by Stadtwerke" → "Stadtwerke". */
function collectorOf(description: string | null | undefined): string | undefined {
  const match = /^(?:refunded )?direct debit by (.+)$/i.exec(description?.trim() ?? '');
  return match?.[1].trim() || undefined;
}

/** "Received 25.50 EUR on Savings pot: Rent. Balance 125.50 EUR." */
export function alertText(alert: AlertLike): string {
  const money = formatMoney(alert.amount.amount.replace(/^[-+]/, ''), alert.amount.currency);
  const name = alert.account.nickname?.trim() || spaced(alert.account.number);
  const kind = alert.transaction.kind;
  // A payment to another bank names its creditor in the description ("Payment to Acme").
  const creditor = kind === 'EXTERNAL_PAYMENT' || kind === 'REVERSAL' ? creditorOf(alert.description) : undefined;
  // A creditor's direct debit (and its refund) names the creditor ("Direct debit by Stadtwerke").
  const collector = kind === 'EXTERNAL_PAYMENT' || kind === 'REVERSAL' ? collectorOf(alert.description) : undefined;
  let what: string;
  if (collector && alert.direction === 'CREDIT') what = `Your direct debit of ${money} to ${collector} was refunded to ${name}`;
  else if (collector) what = `${collector} collected ${money} from ${name} by direct debit`;
  else if (alert.direction === 'CREDIT') {
    if (kind === 'DEPOSIT') what = `Deposited ${money} into ${name}`;
    else if (kind === 'LOAN_DISBURSEMENT') what = `Your loan of ${money} was paid into ${name}`;
    else if (kind === 'REVERSAL') {
      what = creditor
        ? `Your payment of ${money} to ${creditor} came back to ${name}`
        : `A payment of ${money} came back to ${name}`;
    } else what = `Received ${money} on ${name}`;
  } else if (kind === 'WITHDRAWAL') what = `Withdrew ${money} from ${name}`;
  else if (kind === 'LOAN_REPAYMENT') what = `Repaid ${money} on a loan from ${name}`;
  else if (kind === 'HOLD_CAPTURE') what = `Paid ${money} from ${name}`;
  else if (kind === 'EXTERNAL_PAYMENT') what = `Sent ${money} from ${name} to ${creditor ?? 'another bank'}`;
  else what = `Sent ${money} from ${name}`;
  // Loans' and payments' movements say what they are already; their description would repeat it.
  const description = SAYS_ITSELF.has(kind ?? '') ? undefined : alert.description?.trim();
  const balance = formatMoney(alert.balanceAfter.amount, alert.balanceAfter.currency);
  return `${what}${description ? `: ${description}` : ''}. Balance ${balance}.`;
}

/** One posting on one account: the same alert delivered twice (a socket swap) has the same key. */
export const alertKey = (alert: AlertLike) => `${alert.transaction.id}/${alert.account.id}/${alert.direction}`;

export type AlertDecision =
  | { action: 'ignore' }
  /** The person made it in this tab: its form already said so and refreshed the balances. */
  | { action: 'quiet' }
  | { action: 'show'; toast: string; tone: 'info' | 'success'; refreshAccountIds: string[] };

export function decideAlert(alert: AlertLike, seen: RecentSet, own: RecentSet): AlertDecision {
  const key = alertKey(alert);
  if (seen.has(key)) return { action: 'ignore' };
  seen.add(key);
  if (own.has(alert.transaction.id)) return { action: 'quiet' };
  return {
    action: 'show',
    toast: alertText(alert),
    tone: alert.direction === 'CREDIT' ? 'success' : 'info',
    refreshAccountIds: [alert.account.id],
  };
}

const ownTransactions = new RecentSet(200);

/** Transactions this tab made: their alerts refresh nothing and show no second toast. */
export function rememberOwnTransaction(id: string): void {
  ownTransactions.add(id);
}

export const ownTransactionIds = () => ownTransactions;
