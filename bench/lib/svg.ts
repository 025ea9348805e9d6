/** A small horizontal bar chart as plain SVG text: no charting dependency, readable in any browser. */

export interface Bar {
  label: string;
  value: number;
  /** Drawn as a dashed mark across the bar's row and written next to the value, e.g. '>= 0.98x'. */
  target?: { at: number; text: string; met: boolean };
}

export interface Panel {
  title: string;
  unit: string;
  /** Bars grow from here: 1 for ratios (parity), 0 for differences. */
  reference: number;
  bars: Bar[];
  decimals: number;
}

const WIDTH = 840;
const LABEL_W = 280;
const PLOT_W = 380;
const VALUE_X = LABEL_W + PLOT_W + 16;
const ROW_H = 26;
const BAR_H = 16;

const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function panelSvg(panel: Panel, top: number): { svg: string; height: number } {
  const finite = panel.bars.filter((b) => Number.isFinite(b.value));
  const points = [panel.reference, ...finite.map((b) => b.value), ...panel.bars.flatMap((b) => (b.target ? [b.target.at] : []))];
  const lo = Math.min(...points);
  const hi = Math.max(...points);
  const pad = (hi - lo) * 0.08 || 0.1;
  const min = lo - pad;
  const max = hi + pad;
  const x = (v: number) => LABEL_W + ((v - min) / (max - min)) * PLOT_W;
  const parts: string[] = [`<text x="16" y="${top + 16}" class="panel">${escape(panel.title)}</text>`];
  const plotTop = top + 28;
  const plotH = panel.bars.length * ROW_H;
  panel.bars.forEach((bar, i) => {
    const y = plotTop + i * ROW_H;
    const baseline = y + ROW_H / 2 + 4;
    parts.push(`<text x="${LABEL_W - 10}" y="${baseline}" class="label" text-anchor="end">${escape(bar.label)}</text>`);
    if (!Number.isFinite(bar.value)) {
      parts.push(`<text x="${VALUE_X}" y="${baseline}" class="value">no figure</text>`);
      return;
    }
    const from = x(Math.min(panel.reference, bar.value));
    const to = x(Math.max(panel.reference, bar.value));
    const kind = bar.target === undefined ? 'plain' : bar.target.met ? 'met' : 'missed';
    parts.push(
      `<rect x="${from.toFixed(1)}" y="${y + (ROW_H - BAR_H) / 2}" width="${Math.max(1, to - from).toFixed(1)}" height="${BAR_H}" class="${kind}"/>`,
    );
    const target = bar.target ? ` <tspan class="axis">(target ${escape(bar.target.text)})</tspan>` : '';
    parts.push(`<text x="${VALUE_X}" y="${baseline}" class="value">${bar.value.toFixed(panel.decimals)}${escape(panel.unit)}${target}</text>`);
    if (bar.target) {
      const tx = x(bar.target.at).toFixed(1);
      parts.push(`<line x1="${tx}" x2="${tx}" y1="${y + 1}" y2="${y + ROW_H - 1}" class="target"/>`);
    }
  });
  const rx = x(panel.reference).toFixed(1);
  parts.push(`<line x1="${rx}" x2="${rx}" y1="${plotTop - 4}" y2="${plotTop + plotH + 4}" class="reference"/>`);
  parts.push(`<text x="${rx}" y="${plotTop + plotH + 18}" class="axis" text-anchor="middle">${panel.reference}${escape(panel.unit)}</text>`);
  return { svg: parts.join('\n  '), height: 28 + plotH + 30 };
}

export function barChart(title: string, subtitle: string, panels: Panel[]): string {
  const body: string[] = [];
  let top = 58;
  for (const panel of panels) {
    const { svg, height } = panelSvg(panel, top);
    body.push(svg);
    top += height + 8;
  }
  const legendY = top + 4;
  const height = legendY + 24;
  const legend = [
    ['met', 'target met'],
    ['missed', 'target missed'],
    ['plain', 'no target'],
  ]
    .map(
      ([kind, text], i) =>
        `<rect x="${16 + i * 130}" y="${legendY - 6}" width="14" height="12" class="${kind}"/><text x="${36 + i * 130}" y="${legendY + 4}" class="axis">${text}</text>`,
    )
    .join('\n  ');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="system-ui, -apple-system, 'Segoe UI', sans-serif">
  <style>
    .title { font-size: 17px; font-weight: 600; fill: #111; }
    .subtitle { font-size: 12px; fill: #555; }
    .panel { font-size: 14px; font-weight: 600; fill: #222; }
    .label, .value { font-size: 12px; fill: #222; }
    .axis { font-size: 11px; fill: #666; }
    .met { fill: #2f9e44; }
    .missed { fill: #e8590c; }
    .plain { fill: #3b82c4; }
    .reference { stroke: #333; stroke-width: 1.5; }
    .target { stroke: #111; stroke-width: 2; stroke-dasharray: 3 2; }
  </style>
  <rect width="100%" height="100%" fill="#fff"/>
  <text x="16" y="26" class="title">${escape(title)}</text>
  <text x="16" y="44" class="subtitle">${escape(subtitle)}</text>
  ${body.join('\n  ')}
  ${legend}
  <line x1="406" x2="424" y1="${legendY}" y2="${legendY}" class="target"/>
  <text x="430" y="${legendY + 4}" class="axis">target</text>
  <line x1="490" x2="490" y1="${legendY - 7}" y2="${legendY + 7}" class="reference"/>
  <text x="498" y="${legendY + 4}" class="axis">bars start at parity (1x) or zero</text>
</svg>
`;
}
