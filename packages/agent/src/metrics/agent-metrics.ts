import { readFile } from 'node:fs/promises';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { NodeInstanceStatus } from '@shellwego/core';
import type { InstanceUsage } from '../stats/stats-sampler.js';

const STATES = ['pending', 'starting', 'running', 'stopping', 'stopped', 'failed'] as const;

export interface AgentMetricsOptions {
  /** PSI file of the node's memory; absent (older kernels, some containers): pressure reads 0. */
  pressureFile?: string;
  /**
   * The latest usage sample of each running instance (the agent's StatsSampler), read at each scrape: an instance
   * that is gone has no sample, so its series disappear with it.
   */
  usage?: () => Iterable<InstanceUsage>;
}

/** The agent's Prometheus metrics, in a registry of their own (no global state shared with other code). */
export class AgentMetrics {
  readonly registry = new Registry();
  private readonly instances: Gauge<'state'>;
  readonly reconcileDuration: Histogram;
  readonly actions: Counter<'kind' | 'outcome'>;
  /** The name for every runtime: from the driver's start call to a started instance. */
  readonly spawnDuration: Histogram;

  constructor(opts: AgentMetricsOptions = {}) {
    const registers = [this.registry];
    this.instances = new Gauge({
      name: 'shellwego_agent_instances',
      help: 'Instances on this node by reported state',
      labelNames: ['state'],
      registers,
    });
    for (const state of STATES) this.instances.set({ state }, 0);
    this.reconcileDuration = new Histogram({
      name: 'shellwego_agent_reconcile_duration_seconds',
      help: 'One reconcile pass: plan and carry out the actions',
      buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.actions = new Counter({
      name: 'shellwego_agent_actions_total',
      help: 'Actions the executor carried out, by kind and outcome',
      labelNames: ['kind', 'outcome'],
      registers,
    });
    this.spawnDuration = new Histogram({
      name: 'shellwego_microvm_spawn_duration_seconds',
      help: 'Runtime start of one instance (any runtime; the name is historical)',
      buckets: [0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10],
      registers,
    });
    const pressureFile = opts.pressureFile ?? '/proc/pressure/memory';
    new Gauge({
      name: 'shellwego_node_memory_pressure',
      help: 'Share of the last 10 s some task stalled on memory, in percent (PSI "some avg10"); 0 without PSI',
      registers,
      async collect() {
        this.set(await memoryPressure(pressureFile));
      },
    });
    const usage = opts.usage ?? (() => []);
    const labelNames = ['instance', 'app'] as const;
    const labelsOf = (u: InstanceUsage) => ({ instance: u.instanceId, app: u.appId });
    new Gauge({
      name: 'shellwego_instance_memory_bytes',
      help: 'Memory in use by a running instance, as its driver measures it (cgroup, VMM, worker share)',
      labelNames,
      registers,
      collect() {
        this.reset();
        for (const u of usage()) this.set(labelsOf(u), u.memoryBytes);
      },
    });
    new Gauge({
      name: 'shellwego_instance_cpu_milli',
      help: 'CPU used by a running instance over the last sampling period, in milli-CPU (1000 = one core)',
      labelNames,
      registers,
      collect() {
        this.reset();
        for (const u of usage()) if (u.cpuMilli !== undefined) this.set(labelsOf(u), u.cpuMilli);
      },
    });
    new Counter({
      name: 'shellwego_instance_cpu_seconds_total',
      help: 'CPU time a running instance used since it started, at the last sample',
      labelNames,
      registers,
      collect() {
        // The driver's own cumulative counter, re-read at each scrape; it restarts at 0 with the instance.
        this.reset();
        for (const u of usage()) this.inc(labelsOf(u), u.cpuUsageNs / 1e9);
      },
    });
  }

  /** Sets the per-state counts from the instances just reported. */
  countInstances(statuses: readonly NodeInstanceStatus[]): void {
    for (const state of STATES)
      this.instances.set({ state }, statuses.filter((s) => s.state === state).length);
  }
}

/** `some avg10=` of a PSI file, or 0 when the file is absent or unreadable. */
export async function memoryPressure(file: string): Promise<number> {
  const text = await readFile(file, 'utf8').catch(() => '');
  const value = Number(/^some\b.*\bavg10=([\d.]+)/m.exec(text)?.[1] ?? 0);
  return Number.isFinite(value) ? value : 0;
}
