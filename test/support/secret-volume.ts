/**
 * Writes a Secret volume's files the way the kubelet does (its AtomicWriter): the data goes into a
 * fresh hidden directory, the `..data` symlink is swapped to it in one rename, and each key is a
 * symlink `KEY -> ..data/KEY`. A reader therefore sees the old set or the new one per file, never a
 * half-written file, but two files read one after the other may come from different sets.
 *
 *   writeSecretVolume(dir, {"tls.crt": pem, ...})   first fill or update
 */
import {
  mkdirSync,
  readdirSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";

let generation = 0;

export function writeSecretVolume(dir: string, data: Readonly<Record<string, string>>): void {
  mkdirSync(dir, { recursive: true });
  let previous: string | undefined;
  try {
    previous = readlinkSync(join(dir, "..data"));
  } catch {
    previous = undefined;
  }
  const version = `..${new Date().toISOString().replace(/[:.]/g, "_")}.${process.pid}.${generation++}`;
  mkdirSync(join(dir, version), { mode: 0o755 });
  for (const [key, value] of Object.entries(data)) {
    writeFileSync(join(dir, version, key), value, { mode: 0o600 });
  }
  symlinkSync(version, join(dir, "..data_tmp"));
  renameSync(join(dir, "..data_tmp"), join(dir, "..data"));
  for (const key of Object.keys(data)) {
    // Replaces a plain file or an older symlink in one rename, as above.
    symlinkSync(join("..data", key), join(dir, `${key}.tmp-link`));
    renameSync(join(dir, `${key}.tmp-link`), join(dir, key));
  }
  // Keys gone from the Secret disappear from the volume.
  for (const entry of readdirSync(dir)) {
    if (!entry.startsWith("..") && !(entry in data)) rmSync(join(dir, entry), { force: true });
  }
  if (previous !== undefined && previous !== version)
    rmSync(join(dir, previous), { recursive: true, force: true });
}
