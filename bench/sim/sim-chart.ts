/**
 * The simulator's chart (bench/results/p2p-sim.svg): p99 pull time over the lower bound per N, and the
 * busiest peer's upload over the mean, for each design, without churn (solid) and with it (dashed).
 */
import { frame, panel, W, type Series } from "../p2p-chart.ts";

export interface SimChartRow {
  readonly design: string;
  readonly n: number;
  readonly churn: number;
  readonly p99OverLowerBound: number;
  readonly uploadMaxOverMean: number;
}

const COLORS = ["#c0392b", "#2471a3"];

export function renderSimChart(rows: readonly SimChartRow[], subtitle: string): string {
  const ns = [...new Set(rows.map((r) => r.n))];
  const designs = [...new Set(rows.map((r) => r.design))];
  const churns = [...new Set(rows.map((r) => r.churn))];
  const series = (value: (r: SimChartRow) => number): Series[] =>
    designs.flatMap((design, d) =>
      churns.map((churn) => ({
        label: churn > 0 ? `${design}, ${churn * 100}% churn` : design,
        color: COLORS[d % COLORS.length]!,
        ...(churn > 0 && { dash: "5 4" }),
        values: ns.map((n) => {
          const row = rows.find((r) => r.design === design && r.churn === churn && r.n === n);
          return row ? value(row) : NaN;
        }),
      })),
    );
  return frame(
    [
      panel(
        0,
        "p99 pull time / lower bound",
        ns,
        series((r) => r.p99OverLowerBound),
        "x lower bound",
      ),
      panel(
        W,
        "Busiest peer's upload / mean",
        ns,
        series((r) => r.uploadMaxOverMean),
        "x mean",
      ),
    ],
    subtitle,
  );
}
