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
 */
export const SIDECAR_NODE_FLAGS: readonly string[] = Object.freeze(["--initial-old-space-size=64"]);
