/**
 * The access token of this page's last sign-in, in memory only (a reload forgets it), and every
 * token it had before, so that headers this page filled in follow the next sign-in.
 */
import { useSyncExternalStore } from 'react';
import type { SignedIn } from './headers';

export interface Session {
  signedIn?: SignedIn;
  /** Tokens of earlier sign-ins on this page. */
  earlier: ReadonlySet<string>;
}

let session: Session = { earlier: new Set() };
const listeners = new Set<() => void>();

export function signedIn(next: SignedIn) {
  const earlier = new Set(session.earlier);
  if (session.signedIn && session.signedIn.accessToken !== next.accessToken) earlier.add(session.signedIn.accessToken);
  session = { signedIn: next, earlier };
  listeners.forEach((listener) => listener());
}

export function useSession(): Session {
  return useSyncExternalStore(
    (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    () => session,
  );
}
