import { useEffect, useRef, useState } from 'react';
import type { ApiClient, LogLine, PlatformEvent } from '@shellwego/api-client';
import { wsUrl } from './format.js';

/**
 * Opens an API WebSocket with the session's token. A browser cannot set an Authorization header on a WebSocket,
 * so the token travels as a subprotocol (`shellwego`, `bearer.<token>`), which the control plane accepts.
 */
async function openSocket(
  client: ApiClient,
  path: string,
  cancelled: () => boolean,
): Promise<WebSocket | null> {
  // A cheap call first: it refreshes an expired access token, so the upgrade is not refused.
  await client.me();
  if (cancelled()) return null;
  const token = client.credentials().token ?? '';
  return new WebSocket(wsUrl(window.location.origin, path), ['shellwego', `bearer.${token}`]);
}

/** Closing a socket still connecting makes the browser log an error: let it open first. */
function closeQuietly(ws: WebSocket): void {
  ws.onmessage = null;
  ws.onclose = null;
  ws.onerror = null;
  if (ws.readyState === WebSocket.CONNECTING) ws.onopen = () => ws.close();
  else ws.close();
}

export type LiveState = 'connecting' | 'live' | 'retrying' | 'off';

/** Every event of the caller's organizations, live; reconnects with a backoff and replays what it missed. */
export function useEvents(client: ApiClient, onEvent: (e: PlatformEvent) => void): LiveState {
  const [state, setState] = useState<LiveState>('connecting');
  const handler = useRef(onEvent);
  handler.current = onEvent;
  useEffect(() => {
    let closed = false;
    let socket: WebSocket | undefined;
    let last: number | undefined;
    let attempt = 0;
    let timer: number | undefined;
    const connect = (): void => {
      const path = last === undefined ? '/v1/events' : `/v1/events?since=${last}`;
      openSocket(client, path, () => closed).then(
        (ws) => {
          if (!ws) return;
          socket = ws;
          ws.onopen = () => {
            attempt = 0;
            setState('live');
          };
          ws.onmessage = (m: MessageEvent<string>) => {
            try {
              const e = JSON.parse(m.data) as PlatformEvent;
              last = e.seq;
              handler.current(e);
            } catch {
              // Not an event: ignore it.
            }
          };
          ws.onclose = () => retry();
        },
        () => retry(),
      );
    };
    const retry = (): void => {
      if (closed) return;
      setState('retrying');
      attempt++;
      timer = window.setTimeout(connect, Math.min(15_000, 500 * 2 ** attempt));
    };
    connect();
    return () => {
      closed = true;
      window.clearTimeout(timer);
      if (socket) closeQuietly(socket);
      setState('off');
    };
  }, [client]);
  return state;
}

/** Streams an app's logs while `follow` is on: the last `tail` lines of each instance, then live ones. */
export function useLogStream(
  client: ApiClient,
  app: string,
  follow: boolean,
  onLines: (lines: LogLine[], reset: boolean) => void,
  /** Changes (a new release) reopen the stream, to take the new instances in. */
  generation: unknown,
): LiveState {
  const [state, setState] = useState<LiveState>('off');
  const handler = useRef(onLines);
  handler.current = onLines;
  useEffect(() => {
    if (!follow) {
      setState('off');
      return;
    }
    let closed = false;
    let socket: WebSocket | undefined;
    let timer: number | undefined;
    let buffer: LogLine[] = [];
    let flush: number | undefined;
    const connect = (): void => {
      setState('connecting');
      openSocket(client, `/v1/apps/${encodeURIComponent(app)}/logs?follow=true&tail=200`, () => closed).then(
        (ws) => {
          if (!ws) return;
          socket = ws;
          let first = true;
          ws.onopen = () => setState('live');
          ws.onmessage = (m: MessageEvent<string>) => {
            try {
              buffer.push(JSON.parse(m.data) as LogLine);
            } catch {
              return;
            }
            // Lines arrive in bursts: hand them over at most every 100 ms.
            flush ??= window.setTimeout(() => {
              flush = undefined;
              const lines = buffer;
              buffer = [];
              handler.current(lines, first);
              first = false;
            }, 100);
          };
          // Instances end (a deploy replaces them): open again to follow the new ones.
          ws.onclose = () => {
            if (closed) return;
            setState('retrying');
            timer = window.setTimeout(connect, 2000);
          };
        },
        () => {
          if (closed) return;
          setState('retrying');
          timer = window.setTimeout(connect, 3000);
        },
      );
    };
    connect();
    return () => {
      closed = true;
      window.clearTimeout(timer);
      window.clearTimeout(flush);
      if (socket) closeQuietly(socket);
    };
  }, [client, app, follow, generation]);
  return state;
}
