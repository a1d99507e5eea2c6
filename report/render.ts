/**
 * Vega-Lite spec -> standalone SVG string, in Node without a browser or canvas (vega's headless 'none' renderer;
 * text widths are estimated). Element ids (clip paths, gradients) get a prefix derived from the SVG's content, so
 * several charts can be inlined into one HTML page without their ids colliding.
 */
import { createHash } from 'node:crypto';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/** Shared look of every chart. */
export const CHART_CONFIG = {
  font: 'DejaVu Sans, Liberation Sans, Arial, sans-serif',
  view: { stroke: '#ccc' },
  axis: { labelFontSize: 10, titleFontSize: 11, gridColor: '#eee' },
  legend: { labelFontSize: 10, titleFontSize: 11, labelLimit: 260 },
  title: { fontSize: 13, anchor: 'start' as const },
  header: { labelFontSize: 11, titleFontSize: 11 },
};

/** Render a Vega-Lite spec to SVG. The spec's config is merged over CHART_CONFIG. */
export async function renderSpec(spec: TopLevelSpec): Promise<string> {
  const full = { ...spec, config: { ...CHART_CONFIG, ...(spec.config ?? {}) } } as TopLevelSpec;
  const view = new vega.View(vega.parse(compile(full).spec), { renderer: 'none', logLevel: vega.Error });
  try {
    return uniqueIds(await view.toSVG());
  } finally {
    view.finalize();
  }
}

/** Prefix every id="x" (and its url(#x) / href="#x" references) with a short hash of the SVG. */
export function uniqueIds(svg: string): string {
  const ids = [...svg.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]);
  if (ids.length === 0) return svg;
  const prefix = `c${createHash('sha1').update(svg).digest('hex').slice(0, 8)}-`;
  const set = new Set(ids);
  return svg
    .replace(/(\sid=")([^"]+)"/g, (m, a: string, id: string) => (set.has(id) ? `${a}${prefix}${id}"` : m))
    .replace(/url\(#([^)]+)\)/g, (m, id: string) => (set.has(id) ? `url(#${prefix}${id})` : m))
    .replace(/(href=")#([^"]+)"/g, (m, a: string, id: string) => (set.has(id) ? `${a}#${prefix}${id}"` : m));
}

/** An SVG that says there is nothing to draw (same size as a small chart). */
export function emptySvg(title: string, message = 'no data'): string {
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" class="marks empty" width="360" height="80" viewBox="0 0 360 80">` +
    `<rect width="360" height="80" fill="white"/>` +
    `<text x="10" y="24" font-family="sans-serif" font-size="13">${esc(title)}</text>` +
    `<text x="10" y="52" font-family="sans-serif" font-size="11" fill="#666">${esc(message)}</text></svg>`
  );
}
