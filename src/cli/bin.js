#!/usr/bin/env -S MALLOC_ARENA_MAX=2 node --max-semi-space-size=16 --max-old-space-size=768
// The `paystream` executable straight from the TypeScript sources, through tsx: for development and the
// tests, which see an edit at once. The package's bin is the built dist/paystream.js (npm run build).
import { register } from 'tsx/esm/api';

register();
await import('./paystream.ts');
