/**
 * Subscriptions over one graphql-ws socket that can be swapped for a new one. The socket
 * authenticates once, in `connection_init`, with the access token of that moment; when the token
 * is refreshed the socket is replaced: every running subscription starts again on a new socket
 * (new token), and the old socket keeps delivering until the new one is acknowledged, so no
 * alert falls into the gap (consumers drop the few that arrive twice). Consumers keep their
 * subscription throughout: they never see the swap.
 */
import type { Client as WsClient, Sink, SubscribePayload } from 'graphql-ws';

/** What the swap needs of a graphql-ws client (a real one fits). */
export type SocketClient = Pick<WsClient, 'subscribe' | 'on' | 'dispose'>;

export interface LiveSocketOptions {
  /** A new client; it reads the current access token when it connects. */
  create: () => SocketClient;
  /** The socket was refused for its token (4401/4403 or UNAUTHENTICATED): refresh, then `restart()`. */
  onAuthFailure: () => void;
  /** At most this long the old socket stays open after a swap, waiting for the new one. */
  overlapMs?: number;
}

interface Entry {
  payload: SubscribePayload;
  sink: Sink;
  stop?: () => void;
}

const AUTH_CLOSE_CODES = new Set([4401, 4403]);

/** Whether a subscription failed because of its token (then it waits for the next token). */
export function isAuthFailure(error: unknown): boolean {
  if (error && typeof error === 'object' && 'code' in error && AUTH_CLOSE_CODES.has(Number((error as { code: unknown }).code))) {
    return true;
  }
  const errors = Array.isArray(error) ? error : [];
  return errors.some((e) => e?.extensions?.code === 'UNAUTHENTICATED');
}

export class LiveSocket {
  private client?: SocketClient;
  private readonly entries = new Set<Entry>();

  constructor(private readonly options: LiveSocketOptions) {}

  /** Running subscriptions (including those waiting for a new token). */
  get size(): number {
    return this.entries.size;
  }

  subscribe(payload: SubscribePayload, sink: Sink): () => void {
    const entry: Entry = { payload, sink };
    this.entries.add(entry);
    this.start(entry, this.current());
    return () => {
      this.entries.delete(entry);
      entry.stop?.();
      entry.stop = undefined;
    };
  }

  /** A new token: move every subscription to a new socket, then close the old one. */
  restart(): void {
    const old = this.client;
    this.client = undefined;
    const previous = [...this.entries].map((entry) => entry.stop);
    if (this.entries.size === 0) {
      void old?.dispose();
      return;
    }
    const next = this.current();
    for (const entry of this.entries) this.start(entry, next);
    let retired = false;
    const retire = () => {
      if (retired) return;
      retired = true;
      off();
      clearTimeout(timer);
      previous.forEach((stop) => stop?.());
      void old?.dispose();
    };
    const off = next.on('connected', retire);
    const timer = setTimeout(retire, this.options.overlapMs ?? 10_000);
  }

  /** Signed out: every subscription ends and the socket closes. */
  close(): void {
    for (const entry of this.entries) {
      entry.stop?.();
      entry.stop = undefined;
    }
    this.entries.clear();
    void this.client?.dispose();
    this.client = undefined;
  }

  private current(): SocketClient {
    this.client ??= this.options.create();
    return this.client;
  }

  private start(entry: Entry, client: SocketClient) {
    let live = true;
    const stopInner = client.subscribe(entry.payload, {
      next: (value) => {
        if (live) entry.sink.next(value);
      },
      error: (error) => {
        if (!live) return;
        live = false;
        entry.stop = undefined;
        if (isAuthFailure(error)) {
          // Kept: the next restart() (after the refresh) starts it again.
          this.options.onAuthFailure();
          return;
        }
        this.entries.delete(entry);
        entry.sink.error(error);
      },
      complete: () => {
        if (!live) return;
        live = false;
        entry.stop = undefined;
        this.entries.delete(entry);
        entry.sink.complete();
      },
    });
    entry.stop = () => {
      live = false;
      stopInner();
    };
  }
}
