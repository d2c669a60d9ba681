/**
 * The demo's result: per pod, how long the pull took and where its bytes came from, beside the same
 * number of pulls straight from the origin; as a table on the terminal, JSON and an SVG chart.
 */

export interface PodResult {
  readonly name: string;
  readonly seconds: number;
  /** Bytes by where the pod's sidecar got them; a direct pull has them all from the origin. */
  readonly originBytes: number;
  readonly peerBytes: number;
  readonly cacheBytes: number;
}

export interface RunResult {
  readonly pods: readonly PodResult[];
  /** What the origin sent in this run, as counted at its front (manifests and blobs). */
  readonly originSentBytes: number;
}

export interface DemoReport {
  readonly imageBytes: number;
  readonly layers: number;
  readonly originBytesPerSec: number | null;
  readonly p2p: RunResult;
  readonly direct: RunResult;
}

const MiB = 2 ** 20;
const mib = (b: number) => `${(b / MiB).toFixed(1)} MiB`;
const secs = (s: number) => `${s.toFixed(1)} s`;

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

export function summary(run: RunResult, imageBytes: number) {
  const times = run.pods.map((p) => p.seconds);
  return {
    originTimesImage: run.originSentBytes / imageBytes,
    p50Seconds: percentile(times, 50),
    maxSeconds: Math.max(...times),
  };
}

function table(rows: readonly string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows
    .map((r) =>
      r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join("   "),
    )
    .join("\n");
}

export function renderTable(report: DemoReport): string {
  const podRows = report.p2p.pods.map((p, i) => [
    p.name,
    secs(p.seconds),
    mib(p.originBytes),
    mib(p.peerBytes),
    mib(p.cacheBytes),
    secs(report.direct.pods[i]?.seconds ?? NaN),
  ]);
  const pods = table([
    ["pod", "P2P pull", "from origin", "from peers", "from cache", "direct pull"],
    ...podRows,
  ]);
  const p2p = summary(report.p2p, report.imageBytes);
  const direct = summary(report.direct, report.imageBytes);
  const totals = table([
    ["", "P2P through sidecars", "direct from the origin"],
    [
      "origin sent",
      `${mib(report.p2p.originSentBytes)} (${p2p.originTimesImage.toFixed(2)}x the image)`,
      `${mib(report.direct.originSentBytes)} (${direct.originTimesImage.toFixed(2)}x the image)`,
    ],
    [
      "pull time p50 / max",
      `${secs(p2p.p50Seconds)} / ${secs(p2p.maxSeconds)}`,
      `${secs(direct.p50Seconds)} / ${secs(direct.maxSeconds)}`,
    ],
  ]);
  return `${pods}\n\n${totals}\n`;
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;");

/** Two panels: what the origin sent (with the image size marked), and each pod's pull time. */
export function renderSvg(report: DemoReport): string {
  const W = 760;
  const H = 330;
  const top = 76;
  const bottom = 280;
  const plot = bottom - top;
  const parts: string[] = [];
  const text = (x: number, y: number, s: string, attributes = 'font-size="12"') =>
    parts.push(`<text x="${x}" y="${y}" ${attributes}>${esc(s)}</text>`);
  const rate =
    report.originBytesPerSec === null ? "unlimited" : `${(report.originBytesPerSec / 1e6).toFixed(0)} MB/s`;
  text(
    20,
    24,
    `acr-p2p demo: ${report.p2p.pods.length} pods pull a ${(report.imageBytes / MiB).toFixed(0)} MiB image (origin ${rate})`,
    'font-size="15" font-weight="bold"',
  );

  // Left: origin bytes, P2P vs direct.
  const maxOrigin = Math.max(report.p2p.originSentBytes, report.direct.originSentBytes, report.imageBytes);
  const barH = (b: number) => (b / maxOrigin) * plot;
  text(40, 48, "what the origin sent (MiB)");
  const bars: Array<[string, number, string]> = [
    ["P2P", report.p2p.originSentBytes, "#2a7ab8"],
    ["direct", report.direct.originSentBytes, "#999999"],
  ];
  bars.forEach(([label, bytes, color], i) => {
    const x = 60 + i * 110;
    parts.push(
      `<rect x="${x}" y="${bottom - barH(bytes)}" width="70" height="${barH(bytes)}" fill="${color}"/>`,
    );
    text(x, bottom + 16, label);
    text(x, bottom - barH(bytes) - 4, (bytes / MiB).toFixed(0));
  });
  const imageY = bottom - barH(report.imageBytes);
  parts.push(
    `<line x1="50" x2="290" y1="${imageY}" y2="${imageY}" stroke="#c0392b" stroke-dasharray="4 3"/>`,
  );
  text(200, imageY - 4, "the image", 'font-size="12" fill="#c0392b"');

  // Right: pull time per pod, P2P and direct side by side.
  const pods = report.p2p.pods.length;
  const times = [...report.p2p.pods, ...report.direct.pods].map((p) => p.seconds);
  const maxTime = Math.max(...times, 0.1);
  const left = 340;
  const group = (W - left - 20) / pods;
  const barW = Math.min(28, group / 2.5);
  text(left, 48, "pull time per pod (s): P2P (blue), direct (gray)");
  for (let i = 0; i < pods; i++) {
    const x = left + i * group;
    for (const [j, run, color] of [
      [0, report.p2p, "#2a7ab8"],
      [1, report.direct, "#999999"],
    ] as const) {
      const s = run.pods[i]?.seconds ?? 0;
      const h = (s / maxTime) * plot;
      parts.push(
        `<rect x="${x + j * (barW + 2)}" y="${bottom - h}" width="${barW}" height="${h}" fill="${color}"/>`,
      );
    }
    if (pods <= 16) text(x, bottom + 16, report.p2p.pods[i]!.name);
  }
  text(left, bottom + 36, `longest: ${maxTime.toFixed(1)} s`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif">\n<rect width="100%" height="100%" fill="white"/>\n${parts.join("\n")}\n</svg>\n`;
}
