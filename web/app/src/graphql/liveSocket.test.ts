import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Sink } from 'graphql-ws';
import { LiveSocket, isAuthFailure, type SocketClient } from './liveSocket';

/** A graphql-ws client stand-in: records subscriptions and lets the test push to them. */
class FakeClient implements SocketClient {
  subs: Array<{ sink: Sink; stopped: boolean }> = [];
  connectedListeners: Array<() => void> = [];
  disposed = false;

  constructor(readonly token: string) {}

  subscribe = ((_payload: unknown, sink: Sink) => {
    const sub = { sink, stopped: false };
    this.subs.push(sub);
    return () => {
      sub.stopped = true;
      sink.complete(); // graphql-ws completes the sink after an unsubscribe
    };
  }) as SocketClient['subscribe'];

  on = ((event: string, listener: () => void) => {
    if (event === 'connected') this.connectedListeners.push(listener);
    return () => {
      this.connectedListeners = this.connectedListeners.filter((l) => l !== listener);
    };
  }) as SocketClient['on'];

  dispose = () => {
    this.disposed = true;
  };

  connected() {
    this.connectedListeners.forEach((listener) => listener());
  }

  push(value: unknown) {
    this.subs.filter((s) => !s.stopped).forEach((s) => s.sink.next(value as never));
  }
}

function setup() {
  let token = 'token-1';
  const clients: FakeClient[] = [];
  const onAuthFailure = vi.fn();
  const socket = new LiveSocket({
    create: () => {
      const client = new FakeClient(token);
      clients.push(client);
      return client;
    },
    onAuthFailure,
    overlapMs: 5000,
  });
  const received: unknown[] = [];
  const sink = { next: vi.fn((v: unknown) => received.push(v)), error: vi.fn(), complete: vi.fn() };
  return { socket, clients, sink, received, onAuthFailure, setToken: (t: string) => (token = t) };
}

describe('LiveSocket', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('opens one socket for every subscription', () => {
    const { socket, clients, sink } = setup();
    socket.subscribe({ query: 'subscription A { a }' }, sink);
    socket.subscribe({ query: 'subscription B { b }' }, sink);
    expect(clients).toHaveLength(1);
    expect(clients[0].subs).toHaveLength(2);
  });

  it('after a token refresh moves subscriptions to a socket with the new token, old one closing once it is connected', () => {
    const { socket, clients, sink, received, setToken } = setup();
    socket.subscribe({ query: 'subscription A { a }' }, sink);
    setToken('token-2');
    socket.restart();
    expect(clients.map((c) => c.token)).toEqual(['token-1', 'token-2']);
    // Both deliver while the new socket is not acknowledged yet: nothing falls into the gap.
    clients[0].push('old');
    expect(clients[0].disposed).toBe(false);
    clients[1].connected();
    expect(clients[0].disposed).toBe(true);
    expect(clients[0].subs[0].stopped).toBe(true);
    clients[0].push('late');
    clients[1].push('new');
    expect(received).toEqual(['old', 'new']);
    // The consumer never noticed: the old inner subscription's completion is not passed on.
    expect(sink.complete).not.toHaveBeenCalled();
    expect(sink.error).not.toHaveBeenCalled();
  });

  it('closes the old socket after a while even if the new one never connects', () => {
    const { socket, clients, sink } = setup();
    socket.subscribe({ query: 'subscription A { a }' }, sink);
    socket.restart();
    vi.advanceTimersByTime(5000);
    expect(clients[0].disposed).toBe(true);
  });

  it('restarting without subscriptions just closes the socket', () => {
    const { socket, clients, sink } = setup();
    const stop = socket.subscribe({ query: 'subscription A { a }' }, sink);
    stop();
    socket.restart();
    expect(clients).toHaveLength(1);
    expect(clients[0].disposed).toBe(true);
    expect(socket.size).toBe(0);
  });

  it('a subscription refused for its token asks for a refresh and resumes on the next socket', () => {
    const { socket, clients, sink, received, onAuthFailure } = setup();
    socket.subscribe({ query: 'subscription A { a }' }, sink);
    clients[0].subs[0].sink.error({ code: 4403, reason: 'Forbidden' } as never);
    expect(onAuthFailure).toHaveBeenCalledOnce();
    expect(sink.error).not.toHaveBeenCalled();
    expect(socket.size).toBe(1);
    socket.restart();
    clients[1].push('again');
    expect(received).toEqual(['again']);
  });

  it('passes other errors and completions on and forgets the subscription', () => {
    const { socket, clients, sink } = setup();
    socket.subscribe({ query: 'subscription A { a }' }, sink);
    socket.subscribe({ query: 'subscription B { b }' }, sink);
    clients[0].subs[0].sink.error([{ message: 'bad', extensions: { code: 'BAD_USER_INPUT' } }] as never);
    clients[0].subs[1].sink.complete();
    expect(sink.error).toHaveBeenCalledOnce();
    expect(sink.complete).toHaveBeenCalledOnce();
    expect(socket.size).toBe(0);
  });

  it('sign-out stops everything and closes the socket', () => {
    const { socket, clients, sink } = setup();
    socket.subscribe({ query: 'subscription A { a }' }, sink);
    socket.close();
    expect(clients[0].disposed).toBe(true);
    expect(clients[0].subs[0].stopped).toBe(true);
    expect(socket.size).toBe(0);
  });

  it('recognises token failures', () => {
    expect(isAuthFailure({ code: 4401 })).toBe(true);
    expect(isAuthFailure({ code: 4403 })).toBe(true);
    expect(isAuthFailure({ code: 1006 })).toBe(false);
    expect(isAuthFailure([{ message: 'x', extensions: { code: 'UNAUTHENTICATED' } }])).toBe(true);
    expect(isAuthFailure([{ message: 'x', extensions: { code: 'FORBIDDEN' } }])).toBe(false);
  });
});
