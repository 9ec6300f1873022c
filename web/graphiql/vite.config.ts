import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// NGINX serves the built page at https://localhost:8443/graphiql/, so every
// asset URL must be prefixed with /graphiql/.
export default defineConfig({
  base: '/graphiql/',
  plugins: [react()],
  // Monaco's editor/json/graphql workers are bundled as ES module workers
  // (see `graphiql/setup-workers/vite` imported in src/main.tsx).
  worker: { format: 'es' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // Monaco is big; this is a developer tool, so do not warn about it.
    chunkSizeWarningLimit: 8000,
    rolldownOptions: {
      onwarn(warning, defaultHandler) {
        // graphiql ships React-Compiler output with "use no memo" directives;
        // dropping them when bundling is harmless.
        if (warning.code === 'MODULE_LEVEL_DIRECTIVE') return;
        defaultHandler(warning);
      },
    },
  },
});
