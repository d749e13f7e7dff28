import type { AgentConfig } from './config.js';
import type { ControlPlaneClient } from './control-plane-client.js';
import { CredentialsStore } from './credentials.js';
import type { NodeCapacity } from './host-resources.js';
import type { AgentLogger } from './logger.js';

/** The stored credential if there is one, else a registration with the join token (stored before it is used). */
export async function identify(
  config: AgentConfig,
  runtimes: string[],
  capacity: NodeCapacity,
  client: ControlPlaneClient,
  logger: AgentLogger,
): Promise<string> {
  const store = new CredentialsStore(config.dataDir);
  const stored = await store.load();
  if (stored) {
    if (stored.url !== config.url)
      logger.warn({ registered_with: stored.url, url: config.url }, 'using the credential of another URL');
    client.authenticate(stored.node_id, stored.credential);
    return stored.node_id;
  }
  if (config.joinToken === undefined)
    throw new Error(`this node is not registered yet (no ${store.file}); pass a join token`);
  const registered = await client.register({
    join_token: config.joinToken,
    name: config.name,
    runtimes,
    capacity,
    ...(config.zone === undefined ? {} : { zone: config.zone }),
  });
  await store.save({ url: config.url, node_id: registered.node_id, credential: registered.credential });
  client.authenticate(registered.node_id, registered.credential);
  logger.info({ node_id: registered.node_id, name: config.name }, 'registered with the control plane');
  return registered.node_id;
}
