import { expect } from "chai";
import { Semaphore } from "../../../../sidecar/blocks/semaphore.ts";
import { AbortedError } from "../../../../sidecar/blocks/errors.ts";

describe("semaphore", () => {
  it("grants up to its permits, then queues in order", async () => {
    const sem = new Semaphore(2);
    const a = await sem.acquire();
    await sem.acquire();
    const order: string[] = [];
    const c = sem.acquire().then((r) => (order.push("c"), r));
    const d = sem.acquire().then((r) => (order.push("d"), r));
    expect(sem.waiting).to.equal(2);
    a();
    a(); // releasing twice frees one permit only
    (await c)();
    (await d)();
    expect(order).to.deep.equal(["c", "d"]);
    expect(sem.inUse).to.equal(1);
  });

  it("drops a waiter whose signal fires, without losing a permit", async () => {
    const sem = new Semaphore(1);
    const held = await sem.acquire();
    const abort = new AbortController();
    const waiting = sem.acquire(abort.signal);
    abort.abort();
    let error: unknown;
    await waiting.catch((e: unknown) => (error = e));
    expect(error).to.be.instanceOf(AbortedError);
    expect(sem.waiting).to.equal(0);
    held();
    expect(sem.inUse).to.equal(0);
    (await sem.acquire())();
  });

  it("refuses nonsense permits", () => {
    expect(() => new Semaphore(0)).to.throw(RangeError);
  });
});
