// A baseline process for the idle-RSS comparison: `empty` (a Node process that only answers the
// probe) or `fastify` (a bare Fastify hello-world on 127.0.0.1, port 0, no logger).
import { announceReady, answerProbes } from './lib/probe.mjs';

const kind = process.argv[2];

if (kind === 'empty') {
  answerProbes();
  announceReady();
} else if (kind === 'fastify') {
  const { default: Fastify } = await import('fastify');
  const app = Fastify();
  app.get('/', async () => ({ hello: 'world' }));
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address();
  answerProbes(() => app.close());
  announceReady({ url: `http://127.0.0.1:${port}` });
} else {
  console.error(`usage: node --expose-gc bench/idle-child.mjs empty|fastify (got ${String(kind)})`);
  process.exit(2);
}
