/**
 * "Balances changed": raised after the person's own deposits, withdrawals and transfers, and by
 * live transaction alerts (with the accounts they touched). Screens that show balances refetch
 * when it fires and it concerns them.
 */
export interface BalancesChange {
  /** The accounts whose balance moved; every account when absent. */
  accountIds?: readonly string[];
}

type Listener = (change: BalancesChange) => void;
const listeners = new Set<Listener>();

export function onBalancesChanged(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function balancesChanged(change: BalancesChange = {}): void {
  listeners.forEach((listener) => listener(change));
}

/** Whether a change concerns the screen showing `accountId`. */
export function concerns(change: BalancesChange, accountId: string): boolean {
  return !change.accountIds || change.accountIds.includes(accountId);
}
