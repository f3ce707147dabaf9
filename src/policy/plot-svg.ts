/** One point of the trade-off plot. */
export interface PlotPoint {
  label: string;
  /** Wasted memory relative to fixed:10. */
  x: number;
  /** Cold starts. */
  y: number;
  /** Series (colour): fixed, hybrid, warmflow… */
  series: string;
}

const COLOURS: Record<string, string> = {
  fixed: '#6b7280',
  hybrid: '#d97706',
  warmflow: '#2563eb',
  'warmflow (cost)': '#059669',
};

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function niceStep(span: number): number {
  const raw = span / 5;
  const p = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw) ?? raw;
}

/**
 * Renders cold starts against wasted memory (× fixed:10), one labelled point per policy
 * and setting, as a standalone SVG (no plotting dependency; the docs and the dashboard
 * embed the same file).
 */
export function tradeOffSvg(title: string, points: readonly PlotPoint[]): string {
  const W = 720;
  const H = 440;
  const m = { left: 70, right: 20, top: 40, bottom: 50 };
  const xMax = Math.max(...points.map((p) => p.x), 1) * 1.08;
  const yMax = Math.max(...points.map((p) => p.y), 1) * 1.08;
  const sx = (x: number) => m.left + (x / xMax) * (W - m.left - m.right);
  const sy = (y: number) => H - m.bottom - (y / yMax) * (H - m.top - m.bottom);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="14">${escape(title)}</text>`,
  ];
  const xs = niceStep(xMax);
  for (let x = 0; x <= xMax; x += xs) {
    out.push(
      `<line x1="${sx(x)}" y1="${sy(0)}" x2="${sx(x)}" y2="${m.top}" stroke="#eee"/>`,
      `<text x="${sx(x)}" y="${sy(0) + 16}" text-anchor="middle">${+x.toFixed(2)}</text>`,
    );
  }
  const ys = niceStep(yMax);
  for (let y = 0; y <= yMax; y += ys) {
    out.push(
      `<line x1="${m.left}" y1="${sy(y)}" x2="${W - m.right}" y2="${sy(y)}" stroke="#eee"/>`,
      `<text x="${m.left - 6}" y="${sy(y) + 4}" text-anchor="end">${+y.toFixed(0)}</text>`,
    );
  }
  out.push(
    `<line x1="${m.left}" y1="${sy(0)}" x2="${W - m.right}" y2="${sy(0)}" stroke="#333"/>`,
    `<line x1="${m.left}" y1="${sy(0)}" x2="${m.left}" y2="${m.top}" stroke="#333"/>`,
    `<text x="${(m.left + W - m.right) / 2}" y="${H - 12}" text-anchor="middle">wasted memory (× fixed:10)</text>`,
    `<text transform="translate(16 ${(m.top + H - m.bottom) / 2}) rotate(-90)" text-anchor="middle">cold starts</text>`,
  );
  for (const p of points) {
    const colour = COLOURS[p.series] ?? '#111';
    out.push(
      `<circle cx="${sx(p.x).toFixed(1)}" cy="${sy(p.y).toFixed(1)}" r="4" fill="${colour}"><title>${escape(`${p.label}: ${p.y} cold starts, ${p.x.toFixed(3)} × fixed:10`)}</title></circle>`,
      `<text x="${(sx(p.x) + 6).toFixed(1)}" y="${(sy(p.y) - 6).toFixed(1)}" fill="${colour}">${escape(p.label)}</text>`,
    );
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}
