import { useEffect, useRef, useState } from 'react';
import type { OperationContext } from 'urql';

/**
 * The ledger learns about a new account from the accounts service's events, a moment after
 * `openAccount` returns; until then the supergraph answers without the account (null, no
 * error). While a result is `missing`, fetch it again a few times before calling it missing.
 * Returns whether it is still catching up.
 */
export function useCatchUp(
  missing: boolean,
  fetching: boolean,
  refetch: (opts?: Partial<OperationContext>) => void,
  { tries = 10, delayMs = 500 } = {},
): boolean {
  const count = useRef(0);
  const [, setTick] = useState(0);
  useEffect(() => {
    if (!missing) {
      count.current = 0;
      return;
    }
    if (fetching || count.current >= tries) return;
    const timer = window.setTimeout(() => {
      count.current += 1;
      setTick((t) => t + 1);
      refetch({ requestPolicy: 'network-only' });
    }, delayMs);
    return () => window.clearTimeout(timer);
  }, [missing, fetching, refetch, tries, delayMs]);
  return missing && count.current < tries;
}
