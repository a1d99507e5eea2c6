#!/usr/bin/env node
// The CLI is compiled to dist/; a checkout that was never built (or whose dependencies are missing) gets the
// command that fixes it instead of a module-resolution stack trace.
import { existsSync } from 'node:fs';

const main = new URL('../dist/cli/main.js', import.meta.url);
const fix = (why) => {
  process.stderr.write(`sweep: ${why}; run \`npm ci && npm run build\` in ${new URL('..', import.meta.url).pathname} first\n`);
  process.exit(2);
};
if (!existsSync(main)) fix('dynsweep is not built (dist/cli/main.js is missing)');
try {
  await import(main.href);
} catch (err) {
  if (err?.code !== 'ERR_MODULE_NOT_FOUND') throw err;
  fix(`a module is missing (${err.message.split('\n')[0]})`);
}
