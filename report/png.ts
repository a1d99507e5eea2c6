/** SVG -> PNG with resvg (a prebuilt native binary from npm; no browser). For figures in docs. */
import { Resvg } from '@resvg/resvg-js';

export interface PngOptions {
  /** Output width in pixels (height keeps the aspect ratio). Default: the SVG's own width x `scale`. */
  width?: number;
  /** Zoom factor when no width is given. Default 2 (crisp on high-density screens). */
  scale?: number;
  /** Background colour. Default white. */
  background?: string;
  /** Font family for 'sans-serif' and unlisted fonts. Default 'DejaVu Sans' (system fonts are loaded). */
  fontFamily?: string;
}

export function svgToPng(svg: string, opts: PngOptions = {}): Uint8Array {
  const family = opts.fontFamily ?? 'DejaVu Sans';
  const resvg = new Resvg(svg, {
    background: opts.background ?? 'white',
    fitTo: opts.width ? { mode: 'width', value: opts.width } : { mode: 'zoom', value: opts.scale ?? 2 },
    font: { loadSystemFonts: true, defaultFontFamily: family, sansSerifFamily: family },
  });
  return new Uint8Array(resvg.render().asPng());
}
