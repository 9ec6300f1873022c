/**
 * Toasts: short messages in a polite live region at the corner of the screen (results of the
 * person's own actions and live transaction alerts).
 */
import { createContext, useCallback, useContext, useMemo, useRef, useState, type ReactNode } from 'react';

export type ToastTone = 'info' | 'success' | 'error';
interface Toast {
  id: number;
  text: string;
  tone: ToastTone;
}

interface Toasts {
  show: (text: string, tone?: ToastTone) => void;
}

const ToastContext = createContext<Toasts>({ show: () => {} });

export const useToasts = () => useContext(ToastContext);

export function ToastProvider({ children, timeoutMs = 6000 }: { children: ReactNode; timeoutMs?: number }) {
  const [toasts, setToasts] = useState<Toast[]>([]);
  const next = useRef(1);
  const dismiss = useCallback((id: number) => setToasts((list) => list.filter((toast) => toast.id !== id)), []);
  const show = useCallback(
    (text: string, tone: ToastTone = 'info') => {
      const id = next.current++;
      setToasts((list) => [...list.slice(-3), { id, text, tone }]);
      window.setTimeout(() => dismiss(id), timeoutMs);
    },
    [dismiss, timeoutMs],
  );
  const value = useMemo(() => ({ show }), [show]);
  return (
    <ToastContext.Provider value={value}>
      {children}
      <div className="toasts" role="status" aria-live="polite" aria-label="Messages">
        {toasts.map((toast) => (
          <div key={toast.id} className={`toast toast-${toast.tone}`} data-testid="toast">
            <span>{toast.text}</span>
            <button type="button" className="link" aria-label="Dismiss message" onClick={() => dismiss(toast.id)}>
              ×
            </button>
          </div>
        ))}
      </div>
    </ToastContext.Provider>
  );
}
