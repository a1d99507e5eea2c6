import { isNode, LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { gridSchema, type GridSpec } from './schema.js';

/** One problem in a grid file, located as `file:line:col key: message`. */
export interface GridIssue {
  file: string;
  line: number;
  col: number;
  /** Dotted key path, e.g. `grid.width[2]`; empty for the document itself. */
  key: string;
  message: string;
}

export class GridError extends Error {
  constructor(readonly issues: GridIssue[]) {
    super(issues.map(formatIssue).join('\n'));
    this.name = 'GridError';
  }
}

export function formatIssue(i: GridIssue): string {
  return `${i.file}:${i.line}:${i.col} ${i.key || '(document)'}: ${i.message}`;
}

function keyOf(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out;
}

/** Position of the deepest YAML node that exists along `path` (the parent, when a key is missing). */
function locate(doc: Document, lc: LineCounter, path: readonly PropertyKey[]): { line: number; col: number } {
  for (let n = path.length; n >= 0; n--) {
    const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n) as unknown[], true);
    if (isNode(node) && node.range) {
      // For a mapping value, point at its key when we can: that is where the user looks.
      const pair = n > 0 ? findPairKey(doc, path.slice(0, n)) : undefined;
      const offset = pair ?? node.range[0];
      return lc.linePos(offset);
    }
  }
  return { line: 1, col: 1 };
}

function findPairKey(doc: Document, path: readonly PropertyKey[]): number | undefined {
  const parent = path.length === 1 ? doc.contents : doc.getIn(path.slice(0, -1) as unknown[], true);
  const last = path[path.length - 1];
  if (typeof last !== 'string' || !parent || !('items' in (parent as object))) return undefined;
  for (const item of (parent as { items: unknown[] }).items) {
    const key = (item as { key?: { value?: unknown; range?: [number, number, number] } }).key;
    if (key && key.value === last && key.range) return key.range[0];
  }
  return undefined;
}

/** An issue at `path` of a grid file's text, for checks made after parsing (e.g. against the data it generates). */
export function issueAt(text: string, file: string, path: readonly PropertyKey[], message: string): GridIssue {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const pos = locate(doc, lineCounter, path);
  return { file, line: pos.line, col: pos.col, key: keyOf(path), message };
}

function describeZodIssue(issue: z.core.$ZodIssue): { path: PropertyKey[]; message: string } {
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys;
    return {
      path: [...issue.path, keys[0]],
      message: `unknown key${keys.length > 1 ? 's' : ''} ${keys.map((k) => `"${k}"`).join(', ')}`,
    };
  }
  return { path: [...issue.path], message: issue.message };
}

/**
 * Parse and validate grid.yaml text. Throws GridError listing every problem with its line and key.
 * `file` is only used in messages.
 */
export function parseGrid(text: string, file: string): GridSpec {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new GridError(
      doc.errors.map((e) => {
        const pos = lineCounter.linePos(e.pos[0]);
        return { file, line: pos.line, col: pos.col, key: '', message: `YAML syntax: ${e.message.split('\n')[0]}` };
      }),
    );
  }
  const raw: unknown = doc.toJS();
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new GridError([{ file, line: 1, col: 1, key: '', message: 'expected a mapping with at least `training` and `grid`' }]);
  }
  const result = gridSchema.safeParse(raw);
  if (!result.success) {
    throw new GridError(
      result.error.issues.map((issue) => {
        const { path, message } = describeZodIssue(issue);
        const pos = locate(doc, lineCounter, path);
        return { file, line: pos.line, col: pos.col, key: keyOf(path), message };
      }),
    );
  }
  return result.data;
}
