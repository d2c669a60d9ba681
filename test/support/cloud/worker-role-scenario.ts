/**
 * The worker-role test's body, run INSIDE a test network namespace (see netns.ts) by
 * test/integration/cloud/worker-role.test.ts: starts the STS and CR emulators on the namespace's
 * 127.0.0.1 and the metadata emulator on 100.100.100.200:80, then runs the controller's start-up
 * (resolve-once.ts) as a child with only the instance ID and endpoints configured, so the worker
 * role's credentials, the region and the VPC all come from the metadata service. Then, with the
 * metadata service stopped, runs it once more: the start-up must fail naming `region`. Prints one
 * JSON line.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { startCloudRig, REGION, VPC_ID } from "./cloud-rig.ts";
import { startMetadataEmulator } from "./metadata-emulator.ts";
import { parseResolveOnceOutput } from "./resolve-once.ts";
import { writeCaFile } from "./test-ca.ts";

const here = dirname(fileURLToPath(import.meta.url));

function run(env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(here, "resolve-once.ts")], {
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (b: Buffer) => (stdout += b));
    child.stderr.on("data", (b: Buffer) => (stderr += b));
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const dir = mkdtempSync(join(tmpdir(), "acr-p2p-worker-role-"));
const rig = await startCloudRig();
const metadata = await startMetadataEmulator(rig.cloud, {
  region: REGION,
  vpcId: VPC_ID,
  zoneId: `${REGION}-a`,
  role: rig.workerRole,
});
try {
  // Hardened mode holds: a read without the token flow is refused.
  const tokenless = await fetch("http://100.100.100.200/latest/meta-data/region-id");
  const child = await run({
    PATH: process.env.PATH,
    NODE_EXTRA_CA_CERTS: writeCaFile(rig.ca, dir),
    ...rig.env("workerRole"),
  });
  const callsWithMetadata = [...metadata.calls];
  await metadata.close();
  const withoutMetadata = await run({
    PATH: process.env.PATH,
    NODE_EXTRA_CA_CERTS: writeCaFile(rig.ca, dir),
    ...rig.env("workerRole"),
  });
  process.stdout.write(
    `${JSON.stringify({
      withoutMetadata: {
        exitCode: withoutMetadata.code,
        result: parseResolveOnceOutput(withoutMetadata.stdout),
      },
      exitCode: child.code,
      result: parseResolveOnceOutput(child.stdout),
      stderr: child.stderr.slice(-2000),
      tokenlessStatus: tokenless.status,
      workerRoleArn: rig.workerRole.arn,
      metadataCalls: callsWithMetadata,
      crCalls: rig.cr.calls,
      stsCalls: rig.sts.calls,
      sessionKeys: [...rig.cloud.sessions.values()]
        .filter((s) => s.role === rig.workerRole)
        .map((s) => s.accessKeyId),
    })}\n`,
  );
} finally {
  await metadata.close();
  await rig.close();
  rmSync(dir, { recursive: true, force: true });
}
