/**
 * Following payments without a reload, decided without React: how long to wait before asking
 * again while a payment is in flight, and which payments changed status between two answers;
 * likewise the standing orders the bank is about to pay (due today) and which ones paid.
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

interface StandingOrderState {
  id: string;
  status: string;
  nextRunOn?: string | null;
  runs: number;
}

/**
 * Whether the bank is about to pay this standing order: it is active and its next date is
 * `today` (UTC) or earlier, so the payments service's worker makes that payment any second.
 */
export const isDue = (order: StandingOrderState, today: string) =>
  order.status === 'ACTIVE' && Boolean(order.nextRunOn) && order.nextRunOn! <= today;

/** A fingerprint of the standing orders due: asking again starts over when it changes. */
export const dueKey = (orders: readonly StandingOrderState[], today: string) =>
  orders
    .filter((order) => isDue(order, today))
    .map((order) => `${order.id}:${order.nextRunOn}:${order.runs}`)
    .join(',');

/** How many dates each standing order had paid, to compare the next answer with. */
export const runsMap = (orders: readonly StandingOrderState[]) => new Map(orders.map((order) => [order.id, order.runs]));

/**
 * The standing orders that paid a date since `before` (one new since then that has paid counts:
 * the bank may pay today's date before the page first sees the order); none without `before`.
 */
export function ordersThatPaid<O extends StandingOrderState>(before: ReadonlyMap<string, number> | undefined, after: readonly O[]): O[] {
  if (!before) return [];
  return after.filter((order) => order.runs > (before.get(order.id) ?? 0));
}
