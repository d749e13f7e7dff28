// Starting a control plane.
export { startControlPlane, createLogger, VERSION } from './main.js';
export type { ControlPlane } from './main.js';
export { controlPlaneConfig } from './config.js';
export type { ControlPlaneConfig, ControlPlaneOptions } from './config.js';

// The route table, for the OpenAPI document and the tests that walk every endpoint.
export { routeTable } from './http/routes/index.js';
export type { AnyRoute } from './http/route.js';
export { buildOpenApi } from './http/openapi.js';
