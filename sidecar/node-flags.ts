/**
 * The V8 flags the sidecar process runs with: the sidecar image's ENTRYPOINT passes them to node (a
 * unit test keeps hack/images/build-images.ts in step), and the test rig starts sidecar processes
 * with them, so benchmarks and memory tests measure what ships.
 *
 * --initial-old-space-size=64: the sidecar's JS heap is small (about 20 MB) while its block buffers
 * churn hundreds of MiB of external memory per pull, and from that small starting limit V8 kept
 * re-marking the whole heap, several times a second during a pull. With a 64 MB starting limit a
 * 16-sidecar pull (bench/p2p.ts, 128 MiB image) took 12-16% less sidecar CPU for 5-8 MiB more peak
 * RSS, well inside the chart's memory margin (which test/integration/sidecar/memory-cap.test.ts checks
 * with these flags).
 *
 * --max-semi-space-size=1: V8 grows the young generation to 16 MB semi-spaces (about 50 MB of heap)
 * under a crowd of requests, and keeps it. Almost nothing the sidecar allocates survives a scavenge
 * (request objects, chunk wrappers), so a 1 MB young generation costs no measurable CPU: a 128 MiB
 * pull by 8 sidecars took 7.6-7.7 sidecar CPU-s either way, and its peak RSS minus cap fell from
 * 143-153 to 131-132 MiB; 600 concurrent GETs kept the heap at 35-44 MB instead of 87-91 MB.
 *
 * --expose-gc: the block reclaimer (sidecar/memory/block-reclaimer.ts) asks for a full collection once
 * a named share of the memory budget in blocks was dropped, instead of V8's 64 MiB of external growth.
 *
 * --invocation-count-for-maglev=2000 (V8's default 400): V8's mid-tier compiler takes a function once
 * it ran 2,000 times instead of 400, so the code that runs only while the sidecar starts (module
 * bodies, config, undici's header tables) stays interpreted, and Maglev's code pages are not touched
 * at start. The bundle idles at 60 MB instead of 63 (`npm run bench -- startup`, two rounds) and is
 * ready in 179-190 ms p50 against 155-180. A pull's hot code runs thousands of times per block and is
 * compiled as before: 16 sidecars pulling 256 MiB (bench/p2p.ts) took 41.2 and 36.5 sidecar CPU-s
 * against 39.6 and 37.5 in alternating runs, one sidecar 2.3 and 2.3 against 2.3 and 2.2.
 * (--no-maglev also idles at 60 MB, but those 16 sidecars then took 41.3-41.4 CPU-s against 37.9-38.1
 * and their p99 rose 3-5%: Maglev pays for itself under load.)
 */
export const SIDECAR_NODE_FLAGS: readonly string[] = Object.freeze([
  "--initial-old-space-size=64",
  "--max-semi-space-size=1",
  "--expose-gc",
  "--invocation-count-for-maglev=2000",
]);

/**
 * The environment the sidecar process runs with (the image's Env; the test rig sets it too).
 *
 * MALLOC_MMAP_THRESHOLD_=131072: glibc serves a block buffer (256 KiB by default) from its heap once the
 * first one was freed (its mmap threshold rises), and keeps what it frees there: after a burst of
 * fetches the process stayed 20-40 MiB above what it held. A fixed threshold makes every block buffer
 * its own mapping, returned when freed, while socket reads (64 KiB) stay on the heap. 16 sidecars
 * pulling a 256 MiB image through 128 MiB caches: peak RSS 257-259 MiB instead of 290, for 32 CPU-s
 * instead of 32.7 (a 64 KiB threshold also mapped every socket read: 35-38 CPU-s).
 */
export const SIDECAR_ENV: Readonly<Record<string, string>> = Object.freeze({
  MALLOC_MMAP_THRESHOLD_: "131072",
});
