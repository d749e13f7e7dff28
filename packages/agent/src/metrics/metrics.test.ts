import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir, removeDir } from '@shellwego/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InstanceUsage } from '../stats/stats-sampler.js';
import { AgentMetrics, memoryPressure } from './agent-metrics.js';
import { startMetricsServer, type MetricsServer } from './metrics-server.js';

describe('agent metrics', () => {
  let dir: string;
  let server: MetricsServer;
  const metrics = new AgentMetrics({ pressureFile: '/nonexistent/pressure' });

  beforeAll(async () => {
    dir = await makeTempDir('swg-metrics-');
    server = await startMetricsServer(metrics.registry, '127.0.0.1', 0);
  });
  afterAll(async () => {
    await server.close();
    await removeDir(dir);
  });

  it('reads "some avg10" of a PSI file, and 0 without one', async () => {
    const file = join(dir, 'memory');
    await writeFile(
      file,
      'some avg10=1.25 avg60=0.50 avg300=0.10 total=123\nfull avg10=0.75 avg60=0.00 avg300=0.00 total=45\n',
    );
    expect(await memoryPressure(file)).toBe(1.25);
    expect(await memoryPressure(join(dir, 'absent'))).toBe(0);
  });

  it('serves the counts on /metrics and nothing elsewhere', async () => {
    metrics.countInstances([
      { id: 'a', state: 'running' },
      { id: 'b', state: 'running' },
      { id: 'c', state: 'failed' },
    ]);
    metrics.actions.inc({ kind: 'create', outcome: 'done' });
    const res = await fetch(`http://127.0.0.1:${String(server.port)}/metrics`);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toMatch(/^shellwego_agent_instances\{state="running"\} 2$/m);
    expect(text).toMatch(/^shellwego_agent_instances\{state="pending"\} 0$/m);
    expect(text).toMatch(/^shellwego_agent_actions_total\{kind="create",outcome="done"\} 1$/m);
    expect(text).toMatch(/^shellwego_node_memory_pressure 0$/m);
    expect(text).toMatch(/^shellwego_agent_reconcile_duration_seconds_count 0$/m);
    expect((await fetch(`http://127.0.0.1:${String(server.port)}/other`)).status).toBe(404);
  });

  it("serves each running instance's usage, and drops the series of one that is gone", async () => {
    let usage: InstanceUsage[] = [
      {
        instanceId: 'ins_a',
        appId: 'app_1',
        memoryBytes: 12_345_678,
        memoryLimitBytes: null,
        cpuUsageNs: 2.5e9,
        cpuMilli: 250,
        atMs: 0,
      },
      {
        instanceId: 'ins_b',
        appId: 'app_2',
        memoryBytes: 1000,
        memoryLimitBytes: null,
        cpuUsageNs: 0,
        cpuMilli: undefined,
        atMs: 0,
      },
    ];
    const m = new AgentMetrics({ pressureFile: '/nonexistent/pressure', usage: () => usage });
    let text = await m.registry.metrics();
    expect(text).toMatch(/^shellwego_instance_memory_bytes\{instance="ins_a",app="app_1"\} 12345678$/m);
    expect(text).toMatch(/^shellwego_instance_cpu_milli\{instance="ins_a",app="app_1"\} 250$/m);
    expect(text).toMatch(/^shellwego_instance_cpu_seconds_total\{instance="ins_a",app="app_1"\} 2.5$/m);
    expect(text).toMatch(/^shellwego_instance_memory_bytes\{instance="ins_b",app="app_2"\} 1000$/m);
    // No rate yet after a single sample: no series rather than a made-up 0.
    expect(text).not.toMatch(/^shellwego_instance_cpu_milli\{instance="ins_b"/m);
    usage = usage.slice(1);
    text = await m.registry.metrics();
    expect(text).not.toMatch(/instance="ins_a"/);
    expect(text).toMatch(/^shellwego_instance_memory_bytes\{instance="ins_b",app="app_2"\} 1000$/m);
  });
});
