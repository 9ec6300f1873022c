import { useEffect, useState } from 'react';

/**
 * `value` once it has stayed the same for `delayMs` (compared by its JSON), so a quote is asked
 * for when typing pauses rather than at every keystroke.
 */
export function useDebounced<T>(value: T, delayMs = 350): T {
  const [settled, setSettled] = useState(value);
  const key = JSON.stringify(value);
  useEffect(() => {
    const timer = window.setTimeout(() => setSettled(value), delayMs);
    return () => window.clearTimeout(timer);
  }, [key, delayMs]);
  return settled;
}
