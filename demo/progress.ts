/**
 * The live view of the pulls: one line per pod, redrawn in place on a terminal; elsewhere (a pipe, CI)
 * a pod's line is printed when it passes a quarter of the image, so a log shows progress without a
 * line per tick.
 */

export interface PodProgress {
  readonly name: string;
  /** Bytes of the image handed to this pod's client so far. */
  readonly bytes: number;
  /** Where this pod's bytes came from so far, by source (origin, peer, cache). */
  readonly from: Readonly<Record<string, number>>;
  readonly seconds: number;
  readonly done: boolean;
}

const MiB = 2 ** 20;
const BAR = 20;

function line(p: PodProgress, total: number): string {
  const share = Math.min(1, p.bytes / total);
  const filled = Math.round(share * BAR);
  const sources = Object.entries(p.from)
    .filter(([, b]) => b > 0)
    .map(([s, b]) => `${s} ${(b / MiB).toFixed(0)}`)
    .join(", ");
  return (
    `${p.name.padEnd(8)} [${"#".repeat(filled)}${".".repeat(BAR - filled)}] ${(share * 100).toFixed(0).padStart(3)}% ` +
    `${(p.bytes / MiB).toFixed(0).padStart(5)}/${(total / MiB).toFixed(0)} MiB ${p.seconds.toFixed(1).padStart(5)} s` +
    `${p.done ? " done" : ""}${sources ? `  (MiB from ${sources})` : ""}`
  );
}

export class ProgressBoard {
  readonly #out: NodeJS.WriteStream;
  readonly #total: number;
  readonly #tty: boolean;
  #drawn = 0;
  readonly #quarters = new Map<string, number>();

  constructor(out: NodeJS.WriteStream, totalBytes: number) {
    this.#out = out;
    this.#total = totalBytes;
    this.#tty = out.isTTY === true;
  }

  update(pods: readonly PodProgress[]): void {
    if (this.#tty) {
      const up = this.#drawn > 0 ? `\x1b[${this.#drawn}A` : "";
      this.#out.write(up + pods.map((p) => `\x1b[2K${line(p, this.#total)}\n`).join(""));
      this.#drawn = pods.length;
      return;
    }
    for (const p of pods) {
      const quarter = p.done ? 4 : Math.floor((4 * p.bytes) / this.#total);
      if (quarter > (this.#quarters.get(p.name) ?? 0)) {
        this.#quarters.set(p.name, quarter);
        this.#out.write(`${line(p, this.#total)}\n`);
      }
    }
  }

  /** Starts a new board below this one. */
  finish(): void {
    this.#drawn = 0;
    this.#quarters.clear();
  }
}
