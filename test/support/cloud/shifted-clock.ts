/**
 * Moves this process's JS clock (Date.now() and `new Date()`) forward, for expiry tests that cannot
 * wait an hour: the credential providers, the signers and the emulators all read the same Date, so
 * "50 minutes later" is consistent everywhere. Timers and TLS keep real time (the test certificates
 * are valid for days). Always `restore()` (in an afterEach).
 */
const RealDate = globalThis.Date;
let offsetMs = 0;

class ShiftedDate extends RealDate {
  constructor(...args: unknown[]) {
    if (args.length === 0) super(RealDate.now() + offsetMs);
    else super(...(args as [string | number | Date]));
  }

  static override now(): number {
    return RealDate.now() + offsetMs;
  }
}

export function advanceClock(ms: number): void {
  offsetMs += ms;
  globalThis.Date = ShiftedDate as DateConstructor;
}

export function restoreClock(): void {
  offsetMs = 0;
  globalThis.Date = RealDate;
}
