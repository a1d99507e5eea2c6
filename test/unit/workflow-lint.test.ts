import { describe, expect, it } from 'vitest';
import { ESLint } from 'eslint';

/** The lint rule that keeps workflow code deterministic actually fires (and the real workflows pass it). */
describe('workflow lint', () => {
  const eslint = new ESLint();
  const lint = async (code: string) => (await eslint.lintText(code, { filePath: 'workflows/probe.ts' }))[0].messages.map((m) => m.message);

  it('rejects Node built-ins, I/O libraries and process access in workflows/', async () => {
    expect((await lint(`import { readFileSync } from 'node:fs';\nexport const x = readFileSync;\n`)).join()).toMatch(/no Node built-ins/);
    expect((await lint(`import fs from 'fs';\nexport const x = fs;\n`)).join()).toMatch(/no Node built-ins/);
    expect((await lint(`import { S3Client } from '@aws-sdk/client-s3';\nexport const x = S3Client;\n`)).join()).toMatch(/may import only/);
    expect((await lint(`import { openStore } from '../storage/open.js';\nexport const x = openStore;\n`)).join()).toMatch(/may import only/);
    expect((await lint(`export const env = process.env.HOME;\n`)).join()).toMatch(/No process access/);
  });

  it('accepts the workflow SDK and the real workflow modules', async () => {
    expect(await lint(`import { sleep } from '@temporalio/workflow';\nexport const x = sleep;\n`)).toEqual([]);
    const results = await eslint.lintFiles(['workflows/']);
    expect(results.flatMap((r) => r.messages.map((m) => `${r.filePath}: ${m.message}`))).toEqual([]);
  });
});
