/**
 * Benchmark report: every figure with its runs and median, as JSON, plus an SVG chart (one panel of horizontal
 * bars per unit) so the figures can be compared at a glance.
 */
export interface Figure {
  readonly name: string;
  readonly unit: string;
  readonly runs: number[];
  readonly median: number;
  readonly note?: string;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function figure(name: string, unit: string, runs: number[], note?: string): Figure {
  return {
    name,
    unit,
    runs: runs.map((r) => Number(r.toFixed(2))),
    median: Number(median(runs).toFixed(2)),
    note,
  };
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function renderChart(title: string, figures: readonly Figure[]): string {
  const byUnit = new Map<string, Figure[]>();
  for (const f of figures) byUnit.set(f.unit, [...(byUnit.get(f.unit) ?? []), f]);
  const width = 900;
  const label = 330;
  const bar = 18;
  const gap = 6;
  let y = 40;
  const parts: string[] = [`<text x="10" y="24" font-size="16" font-weight="bold">${esc(title)}</text>`];
  for (const [unit, list] of byUnit) {
    parts.push(`<text x="10" y="${y + 14}" font-size="13" font-weight="bold">${esc(unit)} (median)</text>`);
    y += 22;
    const max = Math.max(...list.map((f) => f.median), 1e-9);
    for (const f of list) {
      const w = Math.max(1, ((width - label - 120) * f.median) / max);
      parts.push(
        `<text x="10" y="${y + 13}" font-size="12">${esc(f.name)}</text>`,
        `<rect x="${label}" y="${y}" width="${w.toFixed(1)}" height="${bar}" fill="#4a78c2"/>`,
        `<text x="${(label + w + 6).toFixed(1)}" y="${y + 13}" font-size="12">${f.median.toLocaleString('en-US')}</text>`,
      );
      y += bar + gap;
    }
    y += 14;
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y}" font-family="sans-serif">\n<rect width="100%" height="100%" fill="white"/>\n${parts.join('\n')}\n</svg>\n`;
}
