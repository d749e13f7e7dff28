import { join } from 'node:path';
import { pino } from 'pino';
import type { Logger } from 'pino';
import { PaasError } from '@shellwego/core';
import { controlPlaneConfig } from './config.js';
import type { ControlPlaneOptions } from './config.js';
import { openStore } from './store/db.js';
import { openLeaderLease } from './store/leader-lease.js';
import { openChangeFeed } from './store/change-feed.js';
import type { Store, StoreConfig } from './store/db.js';
import { Envelope } from './services/envelope.js';
import { loadMasterKey } from './services/master-key.js';
import { buildServices } from './services/index.js';
import type { Services } from './services/index.js';
import type { Deps } from './services/context.js';
import { ensureFirstAdmin } from './services/bootstrap.js';
import type { FirstAdmin } from './services/bootstrap.js';
import type { RolloutOptions } from './services/rollout/controller.js';
import { buildHttpServer } from './http/server.js';

export const VERSION = '0.1.0';

export interface ControlPlane {
  url: string;
  port: number;
  /** Set only on the very first start: the admin's password, to print once. */
  firstAdmin: FirstAdmin | null;
  services: Services;
  store: Store;
  close(): Promise<void>;
}

const MASTER_KEY_CHECK = 'master_key_check';
const LIVENESS_INTERVAL_MS = 5000;

/** JSON logs to `fd` (stdout by default); never logs credentials, passwords or secret values. */
export function createLogger(level: string, fd = 1): Logger {
  return pino(
    {
      level,
      redact: {
        paths: [
          'req.headers.authorization',
          'password',
          '*.password',
          'token',
          '*.token',
          'value',
          '*.value',
          'refresh_token',
          '*.refresh_token',
          'access_token',
          '*.access_token',
        ],
        censor: '[redacted]',
      },
    },
    pino.destination({ fd, sync: false }),
  );
}

/** Wires everything (the only function that knows all the parts) and starts listening. */
export async function startControlPlane(
  options: ControlPlaneOptions,
  injected?: {
    logger?: Logger;
    now?: () => Date;
    rollout?: Partial<RolloutOptions>;
    /** How often the leader lease is checked (tests shorten it). */
    leaseCheckMs?: number;
  },
): Promise<ControlPlane> {
  const config = Object.freeze(controlPlaneConfig.parse(options));
  const logger = injected?.logger ?? createLogger(config.logLevel);
  const { key, source } = loadMasterKey(config.dataDir, config.masterKey);
  const envelope = new Envelope(key);
  key.fill(0);

  const storeConfig: StoreConfig = config.databaseUrl
    ? { kind: 'postgres', url: config.databaseUrl }
    : { kind: 'sqlite', path: join(config.dataDir, 'shellwego.db') };
  const store = await openStore(storeConfig);
  const late: { services?: Services } = {};
  const lease = await openLeaderLease(storeConfig, logger, {
    ...(injected?.leaseCheckMs === undefined ? {} : { checkMs: injected.leaseCheckMs }),
    onChange: (leader) => {
      if (!leader) return;
      late.services?.rollout.becameLeader();
      late.services?.certificates.becameLeader();
    },
  });
  // Changes fan out to the other control planes of the database (LISTEN/NOTIFY); SQLite has none.
  const feed = await openChangeFeed(storeConfig, store.db, logger).catch(async (e: unknown) => {
    await lease.stop();
    await store.close();
    throw e;
  });
  try {
    await checkMasterKey(store, envelope, source);
    const deps: Deps = {
      feed,
      store,
      envelope,
      logger,
      now: injected?.now ?? (() => new Date()),
      isLeader: () => lease.isLeader(),
      settings: {
        signup: config.signup,
        domain: config.domain,
        accessTokenTtlSeconds: config.accessTokenTtlSeconds,
        refreshTokenTtlSeconds: config.refreshTokenTtlSeconds,
        invitationTtlSeconds: 7 * 24 * 3600,
      },
    };
    const services = (late.services = await buildServices(deps, injected?.rollout, { acme: config.acme }));
    const firstAdmin = await ensureFirstAdmin(deps, { email: config.adminEmail, org: config.orgName });
    const http = await buildHttpServer(services, logger, {
      version: VERSION,
      rateLimit: config.rateLimit,
      bodyLimitBytes: 10 * 1024 * 1024,
      dashboard: { dataDir: config.dataDir, dashboardDir: config.dashboardDir },
    });
    await http.listen({ host: config.host, port: config.port });
    // Liveness: every 5 s, nodes silent for 30 s become unreachable.
    const liveness = setInterval(() => {
      services.nodeProtocol.markUnreachable(deps.now()).catch((err: unknown) => {
        logger.warn({ err }, 'node liveness sweep failed');
      });
    }, LIVENESS_INTERVAL_MS);
    liveness.unref();
    services.rollout.start();
    services.certificates.start();
    const address = http.server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
    logger.info(
      { port, database: store.describe(), masterKey: source === 'environment' ? 'environment' : 'file' },
      'control plane listening',
    );
    return {
      url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
      port,
      firstAdmin,
      services,
      store,
      close: async () => {
        clearInterval(liveness);
        await services.rollout.stop();
        await http.close();
        await services.certificates.stop();
        await lease.stop();
        await feed.close();
        await store.close();
      },
    };
  } catch (e) {
    await feed.close();
    await lease.stop();
    await store.close();
    throw e;
  }
}

/** Refuses to start with a master key other than the one the store was sealed with. */
async function checkMasterKey(store: Store, envelope: Envelope, source: string): Promise<void> {
  const row = await store.db
    .selectFrom('settings')
    .select('value')
    .where('key', '=', MASTER_KEY_CHECK)
    .executeTakeFirst();
  if (!row) {
    await store.db
      .insertInto('settings')
      .values({ key: MASTER_KEY_CHECK, value: envelope.keyCheck() })
      .onConflict((oc) => oc.column('key').doNothing())
      .execute();
    return;
  }
  if (!envelope.matchesCheck(row.value)) {
    throw new PaasError(
      'VALIDATION_FAILED',
      `the master key (from ${source}) is not the one this database was sealed with; set SHELLWEGO_MASTER_KEY to the original key`,
    );
  }
}
