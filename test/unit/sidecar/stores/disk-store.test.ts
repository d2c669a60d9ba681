import { expect } from "chai";
import { mkdtemp, mkdir, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sidecarOption } from "../../../../contract/sidecar-options.ts";
import { DiskBlockStore } from "../../../../sidecar/stores/disk-store.ts";
import { blockStoreConformance } from "./store-conformance.ts";

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "acr-p2p-disk-store-"));
  dirs.push(dir);
  return dir;
}
after(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

blockStoreConformance("disk store", {
  open: async (bounds) => DiskBlockStore.open({ dir: await tempDir(), ...bounds }),
});

describe("disk store", () => {
  it("defaults to the seed's capacity default from the option table", async () => {
    const store = await DiskBlockStore.open({ dir: await tempDir() });
    expect(store.stats().capacityBytes).to.equal(Number(sidecarOption("capacityBytes").default));
    await store.close();
  });

  it("empties its directory at start, garbage included", async () => {
    const dir = await tempDir();
    await writeFile(join(dir, "garbage"), "x".repeat(1000));
    await writeFile(join(dir, ".tmp-half-written"), "y");
    await mkdir(join(dir, "sub", "deeper"), { recursive: true });
    await writeFile(join(dir, "sub", "deeper", "f"), "z");
    const store = await DiskBlockStore.open({ dir, capacityBytes: 4096 });
    expect(await readdir(dir)).to.deep.equal([]);
    expect(await store.put("a", new Uint8Array(100))).to.equal(true);
    expect(store.stats().bytes).to.equal(100);
    await store.close();
  });

  it("keeps whole files only: no temporary file survives a put", async () => {
    const dir = await tempDir();
    const store = await DiskBlockStore.open({ dir, capacityBytes: 1 << 20 });
    await Promise.all(Array.from({ length: 20 }, (_, i) => store.put(`k${i}`, new Uint8Array(1000).fill(i))));
    const names = await readdir(dir);
    expect(names.filter((n) => n.startsWith(".tmp-"))).to.deep.equal([]);
    expect(names).to.have.length(20);
    await store.close();
  });

  it("treats a block file someone removed or truncated as a miss", async () => {
    const dir = await tempDir();
    const store = await DiskBlockStore.open({ dir, capacityBytes: 1 << 20 });
    await store.put("a", new Uint8Array(1000).fill(1));
    await store.put("b", new Uint8Array(1000).fill(2));
    const [first, second] = await readdir(dir);
    await writeFile(join(dir, first!), "short");
    await rm(join(dir, second!));
    expect(await store.get("a")).to.equal(undefined);
    expect(await store.get("b")).to.equal(undefined);
    await new Promise((r) => setTimeout(r, 10));
    expect(store.stats().entries).to.equal(0);
    await store.close();
  });

  it("holds the cap on disk, not only in its index", async () => {
    const dir = await tempDir();
    const store = await DiskBlockStore.open({ dir, capacityBytes: 10_000 });
    await Promise.all(Array.from({ length: 50 }, (_, i) => store.put(`k${i}`, new Uint8Array(1500 + i))));
    const { stat } = await import("node:fs/promises");
    const sizes = await Promise.all((await readdir(dir)).map(async (n) => (await stat(join(dir, n))).size));
    expect(sizes.reduce((a, b) => a + b, 0)).to.be.at.most(10_000);
    await store.close();
  });
});

describe("disk store: every block buffer it reads or writes is let go at once (for the block reclaimer)", () => {
  it("reports each put and each read with its size", async () => {
    const dir = await mkdtemp(join(tmpdir(), "acr-p2p-disk-release-"));
    try {
      const released: number[] = [];
      const store = await DiskBlockStore.open({ dir, onRelease: (n) => released.push(n) });
      await store.put("a", new Uint8Array(100).fill(1));
      expect(released).to.deep.equal([100]);
      expect(await store.get("a")).to.have.length(100);
      expect(await store.get("missing")).to.equal(undefined);
      expect(released).to.deep.equal([100, 100]);
      await store.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
