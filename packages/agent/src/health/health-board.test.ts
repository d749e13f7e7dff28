import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HealthBoard, type HealthTarget } from './health-board.js';

// A real server on 127.0.0.1 that counts the checks it answers.
let server: Server;
let port: number;
let checks = 0;

beforeAll(async () => {
  server = createServer((_req, res) => {
    checks++;
    res.writeHead(200).end('ok');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

const target = (over: Partial<HealthTarget> = {}): HealthTarget => ({
  instanceId: 'i-1',
  ip: '127.0.0.1',
  port,
  path: '/',
  intervalMs: 60_000,
  timeoutMs: 1000,
  ...over,
});

describe('HealthBoard.watch', () => {
  it('checks a just-started instance at once, and a later sync of the same target keeps its status', async () => {
    const board = new HealthBoard();
    try {
      const healthy = new Promise((r) => board.once('change', r));
      board.watch(target());
      await healthy;
      expect(board.health('i-1')?.status).toBe('healthy');
      const before = checks;
      // The pass's sync with the same check: the monitor stays (no new first check, no status reset).
      board.sync([target()]);
      board.watch(target());
      expect(board.health('i-1')?.status).toBe('healthy');
      expect(checks).toBe(before);
      // A changed check replaces the monitor; a sync without the instance stops it.
      board.watch(target({ path: '/other' }));
      expect(board.health('i-1')?.status).toBe('unknown');
      board.sync([]);
      expect(board.health('i-1')).toBeUndefined();
    } finally {
      board.stopAll();
    }
  });
});
