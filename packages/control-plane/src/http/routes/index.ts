import type { AnyRoute } from '../route.js';
import { authRoutes } from './auth.js';
import { orgRoutes } from './orgs.js';
import { appRoutes } from './apps.js';
import { platformRoutes } from './platform.js';
import { nodeProtocolRoutes } from './node-protocol.js';
import { deploymentRoutes } from './deployments.js';
import { certificateRoutes } from './certificates.js';
import { logRoutes } from './logs.js';
import { brandingRoutes } from './branding.js';
import { accountRoutes } from './account.js';
import { metricsRoutes } from './metrics.js';

/** Every API route. A route added here is served, documented and covered by the isolation matrix. */
export const routeTable: readonly AnyRoute[] = [
  ...authRoutes,
  ...accountRoutes,
  ...brandingRoutes,
  ...orgRoutes,
  ...appRoutes,
  ...deploymentRoutes,
  ...logRoutes,
  ...metricsRoutes,
  ...certificateRoutes,
  ...nodeProtocolRoutes,
  ...platformRoutes,
];
