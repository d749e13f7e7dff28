import {
  createServer,
  type IncomingMessage,
  type RequestListener,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';

/** A small node:http upstream on 127.0.0.1 for tests. */
export interface TestUpstream {
  readonly id: string;
  readonly address: string;
  readonly port: number;
  readonly server: Server;
  /** Requests received, counted at arrival. */
  hits: number;
  close(): Promise<void>;
}

/** What the default handler answers: who served, and what arrived. */
export interface EchoReply {
  id: string;
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  bodyBytes: number;
}

function echo(id: string): RequestListener {
  return (req: IncomingMessage, res: ServerResponse) => {
    let bodyBytes = 0;
    req.on('data', (chunk: Buffer) => (bodyBytes += chunk.length));
    req.on('end', () => {
      const reply: EchoReply = {
        id,
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        bodyBytes,
      };
      res.writeHead(200, { 'content-type': 'application/json', 'x-upstream': id });
      res.end(JSON.stringify(reply));
    });
  };
}

export async function startUpstream(id: string, handler?: RequestListener, port = 0): Promise<TestUpstream> {
  const listener = handler ?? echo(id);
  const upstream = {
    id,
    hits: 0,
    server: createServer((req, res) => {
      upstream.hits++;
      listener(req, res);
    }),
  };
  await new Promise<void>((resolve, reject) => {
    upstream.server.once('error', reject);
    upstream.server.listen(port, '127.0.0.1', () => resolve());
  });
  const actual = (upstream.server.address() as AddressInfo).port;
  return Object.assign(upstream, {
    port: actual,
    address: `127.0.0.1:${actual}`,
    close: () =>
      new Promise<void>((resolve) => {
        upstream.server.close(() => resolve());
        upstream.server.closeAllConnections();
      }),
  });
}

/** Closes everything pushed to it, in reverse order, ignoring failures: for afterEach. */
export class Cleanup {
  private readonly tasks: Array<() => unknown> = [];

  add(task: () => unknown): void {
    this.tasks.push(task);
  }

  async run(): Promise<void> {
    for (const task of this.tasks.splice(0).reverse()) {
      await Promise.resolve()
        .then(task)
        .catch(() => undefined);
    }
  }
}
