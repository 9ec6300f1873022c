/**
 * Following payments without a reload, decided without React: how long to wait before asking
 * again while a payment is in flight, and which payments changed status between two answers.
 */
import { isInFlight } from './messages';

/**
 * The pause before the `attempt`th poll (0-based) while a payment is in flight: every second at
 * first (the gateway usually settles within one), then backing off to at most `maxMs`, so a
 * payment held up at the gateway does not keep the page asking every second.
 */
export function pollDelayMs(attempt: number, { firstMs = 1000, fastPolls = 10, maxMs = 15_000 } = {}): number {
  if (attempt < fastPolls) return firstMs;
  return Math.min(maxMs, Math.round(firstMs * 1.5 ** (attempt - fastPolls + 1)));
}

interface PaymentState {
  id: string;
  status: string;
}

/** Whether any of these payments will change by itself soon. */
export const anyInFlight = (payments: readonly PaymentState[]) => payments.some((payment) => isInFlight(payment.status));

/** A fingerprint of where the in-flight payments stand: polling starts over when it changes. */
export const flightKey = (payments: readonly PaymentState[]) =>
  payments
    .filter((payment) => isInFlight(payment.status))
    .map((payment) => `${payment.id}:${payment.status}`)
    .join(',');

export interface StatusChange<P extends PaymentState> {
  payment: P;
  from: string;
}

/** The payments whose status differs from `before` (payments new since then are not changes). */
export function statusChanges<P extends PaymentState>(before: ReadonlyMap<string, string>, after: readonly P[]): StatusChange<P>[] {
  const changes: StatusChange<P>[] = [];
  for (const payment of after) {
    const from = before.get(payment.id);
    if (from !== undefined && from !== payment.status) changes.push({ payment, from });
  }
  return changes;
}

/** Where each payment stood, to compare the next answer with. */
export const statusMap = (payments: readonly PaymentState[]) => new Map(payments.map((payment) => [payment.id, payment.status]));
