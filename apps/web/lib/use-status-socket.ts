'use client';

import { useEffect, useRef, useState } from 'react';
import { useStatusSocketBase } from './runtime-config';
import { useSession } from './session';
import type { OrderView, StatusSocketMessage } from './types';

export type ConnectionState = 'connecting' | 'open' | 'reconnecting';

/** Reconnect delays: quick at first, then backing off to a ceiling, with jitter so clients do not stampede. */
export function reconnectDelay(attempt: number): number {
  const base = Math.min(10_000, 500 * 2 ** attempt);
  return Math.round(base * (0.8 + Math.random() * 0.4));
}

/** The server pings every 20 s; silence for longer than this means the connection is dead even if no close came. */
const SILENCE_LIMIT_MS = 45_000;

/**
 * Subscribes to the status WebSocket (`/ws` or `/ws/<orderId>`), reconnecting with
 * backoff. `onOpen` runs on every (re)connection so the caller can catch up on what
 * happened while it was away; updates are at least once and may repeat.
 */
export function useStatusSocket(path: string, handlers: { onOrder(order: OrderView): void; onOpen?(): void }): ConnectionState {
  const base = useStatusSocketBase();
  const { token } = useSession();
  const [state, setState] = useState<ConnectionState>('connecting');
  const handlersRef = useRef(handlers);
  handlersRef.current = handlers;

  useEffect(() => {
    if (!base) return undefined;
    let socket: WebSocket | null = null;
    let attempt = 0;
    let retryTimer: ReturnType<typeof setTimeout> | undefined;
    let silenceTimer: ReturnType<typeof setTimeout> | undefined;
    let stopped = false;

    const armSilenceTimer = () => {
      clearTimeout(silenceTimer);
      silenceTimer = setTimeout(() => socket?.close(), SILENCE_LIMIT_MS);
    };
    const scheduleReconnect = () => {
      if (stopped) return;
      setState('reconnecting');
      clearTimeout(retryTimer);
      retryTimer = setTimeout(connect, reconnectDelay(attempt++));
    };
    function connect() {
      if (stopped) return;
      // A browser's WebSocket cannot send an Authorization header: the token travels as the subprotocols `bearer, <token>`.
      const current = new WebSocket(`${base}${path}`, token ? ['bearer', token] : []);
      socket = current;
      current.onopen = () => {
        attempt = 0;
        setState('open');
        armSilenceTimer();
        handlersRef.current.onOpen?.();
      };
      current.onmessage = (event) => {
        armSilenceTimer();
        let message: StatusSocketMessage;
        try {
          message = JSON.parse(String(event.data)) as StatusSocketMessage;
        } catch {
          return;
        }
        // A `snapshot` message ends the first orders of `/ws` and carries the cursor for older ones: callers page through GET /status instead.
        if (message.type === 'order_update') handlersRef.current.onOrder(message.order);
        else if (message.type === 'ping') current.send(JSON.stringify({ type: 'pong' }));
      };
      current.onclose = () => {
        clearTimeout(silenceTimer);
        if (socket === current) scheduleReconnect();
      };
      // An error is always followed by close, which schedules the reconnect.
      current.onerror = () => undefined;
    }
    const onOffline = () => socket?.close();
    const onOnline = () => {
      if (socket?.readyState !== WebSocket.OPEN) {
        attempt = 0;
        clearTimeout(retryTimer);
        connect();
      }
    };
    window.addEventListener('offline', onOffline);
    window.addEventListener('online', onOnline);
    setState('connecting');
    connect();
    return () => {
      stopped = true;
      clearTimeout(retryTimer);
      clearTimeout(silenceTimer);
      window.removeEventListener('offline', onOffline);
      window.removeEventListener('online', onOnline);
      const last = socket;
      socket = null;
      last?.close();
    };
  }, [base, path, token]);

  return state;
}
