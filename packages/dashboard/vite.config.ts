import { defineConfig, defaultClientConditions } from 'vite';
import react from '@vitejs/plugin-react';

// Built to static files that the control plane serves at `/` (packages/control-plane/src/http/routes/dashboard.ts).
export default defineConfig({
  plugins: [react()],
  // The workspace packages' TypeScript sources, so the build does not depend on their dist.
  resolve: { conditions: ['source', ...defaultClientConditions] },
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', sourcemap: true },
  server: { proxy: { '/v1': { target: 'http://127.0.0.1:8080', ws: true } } },
});
