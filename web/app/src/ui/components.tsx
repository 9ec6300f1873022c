import { useId, type InputHTMLAttributes, type ReactNode, type SelectHTMLAttributes } from 'react';

/** A labelled input with its hint and error wired to it (aria-describedby, aria-invalid). */
export function Field({
  label,
  hint,
  error,
  ...input
}: InputHTMLAttributes<HTMLInputElement> & { label: string; hint?: string; error?: string }) {
  const id = useId();
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  const describedBy = [hint ? hintId : '', error ? errorId : ''].filter(Boolean).join(' ') || undefined;
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {hint && (
        <p className="hint" id={hintId}>
          {hint}
        </p>
      )}
      <input id={id} aria-invalid={error ? true : undefined} aria-describedby={describedBy} {...input} />
      {error && (
        <p className="field-error" id={errorId}>
          {error}
        </p>
      )}
    </div>
  );
}

export function SelectField({
  label,
  error,
  children,
  ...select
}: SelectHTMLAttributes<HTMLSelectElement> & { label: string; error?: string; children: ReactNode }) {
  const id = useId();
  const errorId = `${id}-error`;
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <select id={id} aria-invalid={error ? true : undefined} aria-describedby={error ? errorId : undefined} {...select}>
        {children}
      </select>
      {error && (
        <p className="field-error" id={errorId}>
          {error}
        </p>
      )}
    </div>
  );
}

/** A message about the whole form, announced when it appears. */
export function FormError({ message }: { message?: string }) {
  return (
    <div role="alert" className={message ? 'alert alert-error' : 'alert-empty'}>
      {message}
    </div>
  );
}

export function Notice({ children, tone = 'info' }: { children: ReactNode; tone?: 'info' | 'success' | 'warning' }) {
  return (
    <div role="status" className={`alert alert-${tone}`}>
      {children}
    </div>
  );
}

export function SubmitButton({ busy, children, busyText }: { busy: boolean; children: ReactNode; busyText: string }) {
  return (
    <button type="submit" className="primary" disabled={busy} aria-disabled={busy}>
      {busy ? busyText : children}
    </button>
  );
}

/** "XB1200012345678901" → "XB12 0001 2345 6789 01" */
export function formatAccountNumber(number: string): string {
  return number.replace(/\s+/g, '').replace(/(.{4})(?=.)/g, '$1 ');
}

export const KIND_LABELS: Record<string, string> = { CHECKING: 'Checking', SAVINGS: 'Savings' };
export const STATUS_LABELS: Record<string, string> = { ACTIVE: 'Active', FROZEN: 'Frozen', CLOSED: 'Closed' };

/** A status as a badge; `labels` gives the words (accounts' statuses by default). */
export function StatusBadge({ status, labels = STATUS_LABELS }: { status: string; labels?: Record<string, string> }) {
  return <span className={`badge badge-${status.toLowerCase()}`}>{labels[status] ?? status}</span>;
}

export function accountName(account: { nickname?: string | null; kind: string; currency: string }) {
  return account.nickname || `${KIND_LABELS[account.kind] ?? account.kind} (${account.currency})`;
}
