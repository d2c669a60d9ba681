/**
 * Synchronous clean-ups that must run when the test process exits, even after a failed test: one
 * `exit` listener for all of them (a listener per node would trip Node's leak warning).
 */
const cleanups = new Set<() => void>();
let hooked = false;

/** Registers `cleanup` for exit; the returned function unregisters it (call it after cleaning up). */
export function atExit(cleanup: () => void): () => void {
  if (!hooked) {
    hooked = true;
    process.once("exit", () => {
      for (const c of cleanups) c();
    });
  }
  cleanups.add(cleanup);
  return () => cleanups.delete(cleanup);
}
