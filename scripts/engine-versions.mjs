#!/usr/bin/env node
// Build step (`npm run build`, after tsc): hashes the engines' inputs (core/engines/versions.ts ENGINE_INPUTS)
// from the sources dist/ was just compiled from and writes dist/engine-versions.json, which the built code reads.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { computeEngineVersions, ENGINE_VERSIONS_FILE } from '../dist/core/engines/versions.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'dist', ENGINE_VERSIONS_FILE);
const built = computeEngineVersions(root);
writeFileSync(out, `${JSON.stringify(built, null, 2)}\n`);
console.error(`engine versions: ${Object.entries(built.versions).map(([k, v]) => `${k} ${v}`).join(', ')} -> ${path.relative(root, out)}`);
