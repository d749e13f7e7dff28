export * from './common.js';
export * from './auth.js';
export * from './orgs.js';
export * from './apps.js';
export * from './resources.js';
export * from './nodes.js';
export * from './edge.js';
export * from './deployments.js';
