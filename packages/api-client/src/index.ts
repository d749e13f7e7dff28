// A typed client of the ShellWeGo HTTP API over fetch (Node 20 or a browser): used by the CLI and the dashboard.
export { createClient, allPages } from './client.js';
export type { ApiClient } from './client.js';
export type { ClientOptions, HttpMethod } from './transport.js';
export { ApiError, isApiError, clientErrorCodes } from './errors.js';
export type { ApiErrorInit } from './errors.js';
export type * from './types.js';
