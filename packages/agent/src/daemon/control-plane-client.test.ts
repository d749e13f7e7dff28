import { describe, expect, it } from 'vitest';
import type { AgentLogger } from './logger.js';
import { parseWatchMessage } from './control-plane-client.js';

const spec = {
  app_id: 'app_1',
  app_name: 'web',
  release_id: 'rel_1',
  release_version: 1,
  image: 'registry.example/web@sha256:' + 'a'.repeat(64),
  runtime: 'container',
  env: {},
  secrets: { TOKEN: 'x' },
  secret_versions: { TOKEN: 1 },
  resources: { memory_bytes: 1 << 26, cpu_milli: 500 },
  port: 8080,
  health_check: { path: '/', interval_ms: 1000, timeout_ms: 500 },
};

function recordingLogger(): AgentLogger & { warnings: object[] } {
  const warnings: object[] = [];
  const none = (): undefined => undefined;
  return { warnings, debug: none, info: none, error: none, warn: (o) => warnings.push(o) };
}

describe('parseWatchMessage', () => {
  it('keeps the entries that match the schema and skips the rest, naming them', () => {
    const logger = recordingLogger();
    const good = { id: 'i1', app_id: 'app_1', restart_policy: 'always', spec };
    const parsed = parseWatchMessage(
      {
        revision: 7,
        instances: [
          good,
          { id: 'i2', app_id: 'app_1', restart_policy: 'always', spec: { ...spec, port: 'http' } },
          { nonsense: true },
        ],
      },
      logger,
    );
    expect(parsed).toEqual({ revision: 7, instances: [good], skipped: ['i2'] });
    expect(logger.warnings).toHaveLength(2);
    expect(logger.warnings[0]).toMatchObject({ instance: 'i2' });
  });

  it('rejects a message without a revision', () => {
    expect(() => parseWatchMessage({ instances: [] }, recordingLogger())).toThrow();
  });
});
