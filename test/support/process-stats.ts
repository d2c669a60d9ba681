/**
 * What /proc says about a process the tests or benchmarks started: its CPU time and its memory. Each
 * reading is NaN once the process is gone, never an exception (samplers run on timers).
 */
import { readFileSync } from "node:fs";

/** A process's CPU time in seconds (clock ticks of 1/100 s): in its own code, and in the kernel for it. */
export interface CpuTimes {
  readonly userS: number;
  readonly systemS: number;
}

/** utime and stime of a process; NaN for both once it is gone. */
export function cpuTimesOf(pid: number): CpuTimes {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return { userS: Number(fields[11]) / 100, systemS: Number(fields[12]) / 100 };
  } catch {
    return { userS: NaN, systemS: NaN };
  }
}

/** utime + stime of a process, in seconds. */
export function cpuSecondsOf(pid: number): number {
  const { userS, systemS } = cpuTimesOf(pid);
  return userS + systemS;
}

/** A memory line of /proc/PID/status, in bytes: VmRSS (resident now) or VmHWM (peak resident). */
export function memoryBytesOf(pid: number, field: "VmRSS" | "VmHWM"): number {
  try {
    const line = new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(
      readFileSync(`/proc/${pid}/status`, "utf8"),
    );
    return line ? Number(line[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}
