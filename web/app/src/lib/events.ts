/**
 * "Balances changed": raised after the person's own deposits, withdrawals and transfers (and,
 * once the notifications subgraph is there, by live transaction alerts). Screens that show
 * balances refetch when it fires.
 */
type Listener = () => void;
const listeners = new Set<Listener>();

export function onBalancesChanged(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function balancesChanged(): void {
  listeners.forEach((listener) => listener());
}
