/**
 * Property test: for thousands of random valid references (hosts with ports and upper case, IPs,
 * localhost, Docker Hub short names, tags, digests, tag+digest), the rewritten reference is valid under
 * the grammar, keeps tag and digest exactly, and maps back to the original (host lower-cased).
 * Seeded, so a failure names a reproducible input.
 */
import { expect } from "chai";
import {
  formatReference,
  parseNormalizedReference,
  ReferenceError,
  restoreFromFront,
  rewriteThroughFront,
} from "../../../contract/image-reference.ts";
import { prng } from "../../support/prng.ts";

const FRONT = "127.0.0.1:65001";

function generator(seed: number) {
  const rand = prng(seed);
  const int = (n: number) => Math.floor(rand() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)] as T;
  const chars = (alphabet: string, min: number, max: number) =>
    Array.from({ length: min + int(max - min + 1) }, () => alphabet[int(alphabet.length)]).join("");
  const lower = "abcdefghijklmnopqrstuvwxyz0123456789";
  const label = () => {
    const s = chars(lower + "ABCDEFGHIJKLMNOPQRSTUVWXYZ", 1, 8);
    return rand() < 0.2 && s.length > 2 ? `${s[0]}-${s.slice(1)}` : s;
  };
  const host = () => {
    const kind = int(5);
    const name =
      kind === 0
        ? "localhost"
        : kind === 1
          ? `${1 + int(254)}.${int(256)}.${int(256)}.${1 + int(254)}`
          : Array.from({ length: 2 + int(3) }, label).join(".");
    return rand() < 0.4 ? `${name}:${1 + int(65535)}` : name;
  };
  const component = () => {
    let s = chars(lower, 1, 6);
    if (rand() < 0.3) s += pick([".", "_", "__", "-", "--"]) + chars(lower, 1, 5);
    return s;
  };
  const tag = () =>
    chars("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_", 1, 1) +
    chars(lower + "._-", 0, 12);
  const digest = () =>
    pick([
      () => `sha256:${chars("0123456789abcdef", 64, 64)}`,
      () => `sha512:${chars("0123456789abcdef", 128, 128)}`,
    ])();
  return (): string => {
    const hub = rand() < 0.15;
    const name = hub
      ? Array.from({ length: 1 + int(2) }, component).join("/")
      : `${host()}/${Array.from({ length: 1 + int(3) }, component).join("/")}`;
    const t = rand() < 0.7 ? `:${tag()}` : "";
    const d = rand() < 0.4 ? `@${digest()}` : "";
    return name + t + d;
  };
}

/** Length of `:tag@digest` as written at the end of the input. */
function suffixLength(ref: { tag?: string; digest?: string }): number {
  return (
    (ref.tag !== undefined ? ref.tag.length + 1 : 0) + (ref.digest !== undefined ? ref.digest.length + 1 : 0)
  );
}

describe("image references: rewrite round trip (property)", () => {
  it("rewrites 5000 random references validly and maps each back to its original", () => {
    const next = generator(20260101);
    let rewritten = 0;
    for (let i = 0; i < 5000; i++) {
      const input = next();
      let original;
      try {
        original = parseNormalizedReference(input);
      } catch (err) {
        // The generator makes only valid names, except ones too long: those must fail for length.
        expect((err as ReferenceError).message, input).to.include("longer than 255");
        continue;
      }
      let out: string;
      try {
        out = formatReference(rewriteThroughFront(original, FRONT));
      } catch (err) {
        expect(err, input).to.be.instanceOf(ReferenceError);
        expect((err as ReferenceError).reason, input).to.match(/longer than 255|path component/);
        continue;
      }
      rewritten++;
      const reparsed = parseNormalizedReference(out);
      expect(reparsed.domain, input).to.equal(FRONT);
      expect(reparsed.tag, input).to.equal(original.tag);
      expect(reparsed.digest, input).to.equal(original.digest);
      expect(
        out.endsWith(`/${original.path}${input.slice(input.length - suffixLength(original))}`),
        input,
      ).to.equal(true);
      const back = restoreFromFront(reparsed, FRONT);
      expect(back, input).to.deep.equal({ ...original, domain: original.domain.toLowerCase() });
    }
    expect(rewritten).to.be.greaterThan(4000);
  });
});
