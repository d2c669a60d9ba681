import { expect } from "chai";
import { FluidLinks, NO_LINK, type FlowEnd } from "../../../../bench/sim/fluid-links.ts";

/** Runs every flow to its end in steps of `dt`; returns each flow's finishing instant by name. */
function runAll(
  links: FluidLinks,
  flows: [string, number, number, number][],
  dt = 0.001,
): Map<string, number> {
  const finished = new Map<string, number>();
  for (const [name, up, down, bytes] of flows) {
    const end: FlowEnd = { done: (at) => finished.set(name, at), failed: () => finished.set(name, -1) };
    links.start(up, down, bytes, end);
  }
  for (let t = 0; links.active > 0; t += dt) for (const f of links.step(t, dt)) f.end.done(f.at);
  return finished;
}

describe("sim: fluid links", () => {
  it("two flows out of one upload share it evenly", () => {
    // Link 0: an upload of 10 B/s; links 1 and 2: downloads far larger.
    const done = runAll(new FluidLinks([10, 1000, 1000]), [
      ["a", 0, 1, 10],
      ["b", 0, 2, 10],
    ]);
    expect(done.get("a")).to.be.closeTo(2, 0.01);
    expect(done.get("b")).to.be.closeTo(2, 0.01);
  });

  it("a flow held back by a slow download leaves the rest of the upload to the other (max-min)", () => {
    // Upload 10 B/s; flow a's download carries 2 B/s, so b gets 8 B/s.
    const done = runAll(new FluidLinks([10, 2, 1000]), [
      ["a", 0, 1, 4],
      ["b", 0, 2, 16],
    ]);
    expect(done.get("a")).to.be.closeTo(2, 0.01);
    expect(done.get("b")).to.be.closeTo(2, 0.01);
  });

  it("when a flow ends, the others take its share", () => {
    const done = runAll(new FluidLinks([10, 1000, 1000]), [
      ["short", 0, 1, 5],
      ["long", 0, 2, 25],
    ]);
    // Both at 5 B/s until t=1 (short done, long has 20 left), then long alone at 10 B/s: t=3.
    expect(done.get("short")).to.be.closeTo(1, 0.01);
    expect(done.get("long")).to.be.closeTo(3, 0.01);
  });

  it("a shared link (one host's CPU) caps every flow together", () => {
    const links = new FluidLinks([100, 100, 100, 100, 10], 4);
    const done = runAll(links, [
      ["a", 0, 1, 10],
      ["b", 2, 3, 10],
    ]);
    expect(done.get("a")).to.be.closeTo(2, 0.01);
    expect(done.get("b")).to.be.closeTo(2, 0.01);
  });

  it("cancelling a link's flows hands them back and leaves the others running", () => {
    const links = new FluidLinks([10, 10, 10]);
    const failed: string[] = [];
    const noop = (name: string): FlowEnd => ({ done: () => undefined, failed: () => failed.push(name) });
    links.start(0, 1, 100, noop("a"));
    links.start(2, NO_LINK, 100, noop("b"));
    for (const end of links.cancelCrossing(1)) end.failed();
    expect(failed).to.deep.equal(["a"]);
    expect(links.active).to.equal(1);
  });
});
