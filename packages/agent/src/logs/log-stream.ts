import type { WebSocket } from 'ws';
import { schemas, type LogLine as WireLogLine, type LogRequest } from '@shellwego/core';
import type { InstanceHandle, LogLine, RuntimeDriver } from '@shellwego/driver-sdk';
import type { AgentLogger } from '../daemon/logger.js';

export interface LogStreamerOptions {
  /** The driver that started an instance (DriverSet.forHandle). */
  driverOf: (handle: InstanceHandle) => RuntimeDriver;
  /** The driver handle of an instance this node runs; undefined when it runs no such instance. */
  handleOf: (instanceId: string) => Promise<InstanceHandle | undefined>;
  /** Opens the WebSocket back to the control plane for a request (ControlPlaneClient.logSocket). */
  connect: (requestId: string) => WebSocket;
  logger: AgentLogger;
}

/** Wait for the socket to drain past this much unsent data, so a flood of lines cannot fill the agent's memory. */
const HIGH_WATER_BYTES = 1024 * 1024;
/** Close code the control plane reads as "no such instance here". */
export const UNKNOWN_INSTANCE_CLOSE = 4404;

const errText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** Cuts a line to schemas.LOG_LINE_MAX_BYTES of UTF-8 (a character split at the cut is dropped). */
export function capLine(line: string): string {
  const max = schemas.LOG_LINE_MAX_BYTES;
  if (line.length * 3 <= max) return line;
  const bytes = Buffer.from(line, 'utf8');
  if (bytes.length <= max) return line;
  return new TextDecoder('utf-8').decode(bytes.subarray(0, max)).replace(/\uFFFD$/, '');
}

/**
 * Answers the control plane's log requests: for each, dials back, sends the instance's last `tail` lines and then,
 * with `follow`, every new one, each as one JSON text frame, until the control plane closes the socket. Nothing here
 * may take the agent down: every failure ends that one stream.
 */
export class LogStreamer {
  private readonly open = new Set<WebSocket>();

  constructor(private readonly opts: LogStreamerOptions) {}

  /** Starts answering `request` in the background; never throws. */
  handle(request: LogRequest): void {
    let socket: WebSocket;
    try {
      socket = this.opts.connect(request.id);
    } catch (err) {
      this.opts.logger.warn({ request: request.id, err: errText(err) }, 'cannot open the log socket');
      return;
    }
    this.open.add(socket);
    const abort = new AbortController();
    socket.on('close', () => {
      this.open.delete(socket);
      abort.abort();
    });
    // 'error' is followed by 'close', which ends the stream.
    socket.on('error', (err) =>
      this.opts.logger.debug({ request: request.id, err: err.message }, 'log socket error'),
    );
    this.stream(request, socket, abort.signal).catch((err: unknown) => {
      this.opts.logger.warn(
        { request: request.id, instance: request.instance_id, err: errText(err) },
        'log stream failed',
      );
      closeQuietly(socket, 1011, 'log stream failed');
    });
  }

  /** Closes every log socket (the agent is stopping). */
  closeAll(): void {
    for (const socket of this.open) closeQuietly(socket, 1001, 'agent stopping');
    this.open.clear();
  }

  private async stream(request: LogRequest, socket: WebSocket, signal: AbortSignal): Promise<void> {
    if (!(await opened(socket))) return;
    const handle = await this.opts.handleOf(request.instance_id).catch(() => undefined);
    if (handle === undefined) {
      closeQuietly(socket, UNKNOWN_INSTANCE_CLOSE, `no instance ${request.instance_id} on this node`);
      return;
    }
    const driver = this.opts.driverOf(handle);
    const send = async (line: LogLine): Promise<void> => {
      const frame: WireLogLine = {
        instance_id: request.instance_id,
        stream: line.stream,
        line: capLine(line.line),
        at: line.at.toISOString(),
      };
      if (signal.aborted) return;
      if (socket.bufferedAmount < HIGH_WATER_BYTES) socket.send(JSON.stringify(frame));
      else await new Promise<void>((resolve) => socket.send(JSON.stringify(frame), () => resolve()));
    };

    // The tail: read what is there, keeping the last `tail` lines and counting all of them.
    const tail: LogLine[] = [];
    let seen = 0;
    for await (const line of driver.logs(handle, { follow: false, signal })) {
      seen++;
      if (request.tail === 0) continue;
      tail.push(line);
      if (tail.length > request.tail) tail.shift();
    }
    for (const line of tail) await send(line);
    if (!request.follow) {
      closeQuietly(socket, 1000, 'end of tail');
      return;
    }
    // Following reads the log from its start again (drivers offer no offsets): skip what the tail already covered.
    // A last line still being written when the tail was read counts as seen, so its completed form is skipped too.
    let skip = seen;
    for await (const line of driver.logs(handle, { follow: true, signal })) {
      if (signal.aborted) return;
      if (skip > 0) {
        skip--;
        continue;
      }
      await send(line);
    }
  }
}

/** Resolves true once the socket is open, false when it closed (or failed) first. */
function opened(socket: WebSocket): Promise<boolean> {
  if (socket.readyState === socket.OPEN) return Promise.resolve(true);
  if (socket.readyState !== socket.CONNECTING) return Promise.resolve(false);
  return new Promise((resolve) => {
    socket.once('open', () => resolve(true));
    socket.once('close', () => resolve(false));
  });
}

function closeQuietly(socket: WebSocket, code: number, reason: string): void {
  try {
    if (socket.readyState === socket.CONNECTING) socket.terminate();
    else socket.close(code, reason);
  } catch {
    // Already closing: nothing left to do.
  }
}
