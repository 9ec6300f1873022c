/**
 * One idempotency key per submission. A submission is what a person sends with one set of form
 * values; its key stays the same across retries (a double click, a retry after a network error
 * or an INTERNAL error, whose outcome is unknown), so money moves at most once. Once the API has
 * answered definitively (success, or an error such as INSUFFICIENT_FUNDS) or the values change,
 * the next submit is a new submission with a new key.
 */
export class SubmissionKeys {
  private pending: { fingerprint: string; key: string } | undefined;

  constructor(private readonly newKey: () => string = () => crypto.randomUUID()) {}

  /** The key for submitting these values: the pending one when they are the same submission. */
  keyFor(values: unknown): string {
    const fingerprint = JSON.stringify(values);
    if (this.pending?.fingerprint !== fingerprint) {
      this.pending = { fingerprint, key: this.newKey() };
    }
    return this.pending.key;
  }

  /** The API answered definitively: the next submit is a new submission. */
  settle(): void {
    this.pending = undefined;
  }

  /** The outcome is unknown (`retryable`): keep the key for a retry of the same values. */
  keepForRetry(): void {}
}
