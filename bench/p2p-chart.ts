/**
 * The P2P benchmark's chart as a self-contained SVG (no plotting library): pull time per N on a log2
 * x axis (P2P p50/p99 against direct p50/p99), and origin bytes per N beside it.
 */

export interface ChartRow {
  readonly n: number;
  readonly imageBytes: number;
  readonly originBytes: number;
  readonly directOriginBytes: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly directP50Ms: number;
  readonly directP99Ms: number;
}

export interface Series {
  readonly label: string;
  readonly color: string;
  readonly dash?: string;
  readonly values: readonly number[];
}

export const W = 420;
const H = 300;
const PAD = { left: 56, right: 16, top: 34, bottom: 46 };

/** One chart of `series` over N, drawn at x offset `x0` (a panel is W wide). */
export function panel(
  x0: number,
  title: string,
  ns: readonly number[],
  series: readonly Series[],
  unit: string,
): string {
  const max = Math.max(...series.flatMap((s) => s.values)) * 1.1 || 1;
  const r1 = (x: number) => Math.round(x * 10) / 10;
  const px = (i: number) => r1(x0 + PAD.left + (i / Math.max(1, ns.length - 1)) * (W - PAD.left - PAD.right));
  const py = (v: number) => r1(PAD.top + (1 - v / max) * (H - PAD.top - PAD.bottom));
  const out: string[] = [
    `<text x="${x0 + W / 2}" y="18" text-anchor="middle" font-weight="bold">${title}</text>`,
  ];
  for (let t = 0; t <= 4; t++) {
    const v = (max * t) / 4;
    out.push(
      `<line x1="${x0 + PAD.left}" x2="${x0 + W - PAD.right}" y1="${py(v)}" y2="${py(v)}" stroke="#ddd"/>`,
    );
    out.push(
      `<text x="${x0 + PAD.left - 6}" y="${py(v) + 4}" text-anchor="end">${v.toFixed(v < 10 ? 1 : 0)}</text>`,
    );
  }
  ns.forEach((n, i) =>
    out.push(`<text x="${px(i)}" y="${H - PAD.bottom + 16}" text-anchor="middle">${n}</text>`),
  );
  out.push(`<text x="${x0 + W / 2}" y="${H - 8}" text-anchor="middle">sidecars pulling at once (N)</text>`);
  out.push(
    `<text x="${x0 + 14}" y="${H / 2}" text-anchor="middle" transform="rotate(-90 ${x0 + 14} ${H / 2})">${unit}</text>`,
  );
  series.forEach((s, k) => {
    const points = s.values.map((v, i) => `${px(i)},${py(v)}`).join(" ");
    out.push(
      `<polyline points="${points}" fill="none" stroke="${s.color}" stroke-width="2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ""}/>`,
    );
    s.values.forEach((v, i) => out.push(`<circle cx="${px(i)}" cy="${py(v)}" r="3" fill="${s.color}"/>`));
    const ly = PAD.top + 4 + k * 15;
    out.push(
      `<line x1="${x0 + PAD.left + 8}" x2="${x0 + PAD.left + 28}" y1="${ly}" y2="${ly}" stroke="${s.color}" stroke-width="2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ""}/>`,
    );
    out.push(`<text x="${x0 + PAD.left + 32}" y="${ly + 4}">${s.label}</text>`);
  });
  return out.join("\n");
}

export function renderChart(rows: readonly ChartRow[], subtitle: string): string {
  const ns = rows.map((r) => r.n);
  const s = (f: (r: ChartRow) => number) => rows.map(f);
  const time = panel(
    0,
    "Pull time (s)",
    ns,
    [
      { label: "direct p99", color: "#c0392b", values: s((r) => r.directP99Ms / 1000) },
      { label: "direct p50", color: "#c0392b", dash: "5 4", values: s((r) => r.directP50Ms / 1000) },
      { label: "P2P p99", color: "#2471a3", values: s((r) => r.p99Ms / 1000) },
      { label: "P2P p50", color: "#2471a3", dash: "5 4", values: s((r) => r.p50Ms / 1000) },
    ],
    "seconds",
  );
  const bytes = panel(
    W,
    "Origin bytes / image size",
    ns,
    [
      { label: "direct", color: "#c0392b", values: s((r) => r.directOriginBytes / r.imageBytes) },
      { label: "P2P", color: "#2471a3", values: s((r) => r.originBytes / r.imageBytes) },
    ],
    "x image size",
  );
  return frame([time, bytes], subtitle);
}

/** Panels side by side in one SVG, with a subtitle under them. */
export function frame(panels: readonly string[], subtitle: string): string {
  const width = panels.length * W;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${H + 20}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    ...panels,
    `<text x="${width / 2}" y="${H + 14}" text-anchor="middle" fill="#555">${subtitle}</text>`,
    `</svg>`,
    "",
  ].join("\n");
}
