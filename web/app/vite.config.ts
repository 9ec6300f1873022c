/// <reference types="vitest/config" />
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// NGINX serves the built app at https://localhost:8443/ (GraphiQL stays at /graphiql/).
export default defineConfig({
  base: '/',
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true },
  server: {
    // `npm run dev`: the API through the local gateway.
    proxy: { '/graphql': { target: 'https://localhost:8443', secure: false, ws: true } },
  },
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
  },
});
