import { isAlias, isCollection, isNode, isPair, isScalar, LineCounter, parseDocument, type Alias, type Document, type Node } from 'yaml';
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
 * The most values YAML aliases may bring into a grid file, summed over its aliases (each brings the values of the
 * node it names, aliases in there included): 10,000. A grid needs few aliases if any; an alias bomb ("billion
 * laughs": aliases of aliases, each level multiplying) passes it within its first lines, before anything expands.
 */
export const MAX_ALIAS_VALUES = 10_000;
/** The yaml package's own guard (its default), in case it trips first: at most 100 uses per anchor, nested uses multiplying. */
const MAX_ALIAS_COUNT = 100;

interface AliasProblem {
  at: Node;
  path: PropertyKey[];
  message: string;
}

/**
 * The first alias that names no earlier anchor, sits inside the node it names, or takes the values aliases bring
 * past MAX_ALIAS_VALUES, found without expanding anything (each node's expanded size is computed once); and the
 * file's first alias.
 */
function checkAliases(doc: Document): { problem: AliasProblem | null; first: Alias | null } {
  const anchors = new Map<string, Node>();
  const target = new Map<Alias, Node>();
  const sizes = new Map<Node, number>();
  const open = new Set<Node>();
  let total = 0;
  let first: Alias | null = null;
  const size = (node: unknown): number => {
    if (isAlias(node)) return size(target.get(node));
    if (!isCollection(node)) return 1;
    let n = sizes.get(node);
    if (n === undefined) {
      n = 1;
      for (const item of node.items) n += isPair(item) ? size(item.key) + size(item.value) : size(item);
      sizes.set(node, n);
    }
    return n;
  };
  const walk = (node: unknown, path: PropertyKey[]): AliasProblem | null => {
    if (isAlias(node)) {
      first ??= node;
      const named = anchors.get(node.source);
      const problem = (message: string) => ({ at: node, path, message });
      if (!named) return problem(`alias *${node.source} names no anchor &${node.source} before it`);
      if (open.has(named)) return problem(`alias *${node.source} is inside the node it names`);
      target.set(node, named);
      total += size(named);
      if (total > MAX_ALIAS_VALUES) {
        return problem(`YAML aliases bring more than ${MAX_ALIAS_VALUES.toLocaleString('en-US')} values into the file (an alias bomb?); write the values out`);
      }
      return null;
    }
    if (!isNode(node)) return null;
    if (node.anchor) anchors.set(node.anchor, node);
    if (!isCollection(node)) return null;
    open.add(node);
    for (const [i, item] of node.items.entries()) {
      const found = isPair(item)
        ? (walk(item.key, path) ?? walk(item.value, [...path, isScalar(item.key) ? String(item.key.value) : i]))
        : walk(item, [...path, i]);
      if (found) return found;
    }
    open.delete(node);
    return null;
  };
  const problem = walk(doc.contents, []);
  return { problem, first };
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
  const aliases = checkAliases(doc);
  if (aliases.problem) {
    const { at, path, message } = aliases.problem;
    const pos = lineCounter.linePos(at.range?.[0] ?? 0);
    throw new GridError([{ file, line: pos.line, col: pos.col, key: keyOf(path), message }]);
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    const pos = lineCounter.linePos(aliases.first?.range?.[0] ?? 0);
    throw new GridError([{ file, line: pos.line, col: pos.col, key: '', message: `YAML aliases: ${(err as Error).message}` }]);
  }
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
