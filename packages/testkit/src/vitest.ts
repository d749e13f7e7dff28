// Helpers that only make sense inside a vitest run (they read what global-setup.ts provides).
export { freshPostgresDatabase } from './vitest-postgres.js';
export { dialects } from './vitest-dialects.js';
export { driverConformance, type DriverConformanceOptions } from './driver-conformance.js';
