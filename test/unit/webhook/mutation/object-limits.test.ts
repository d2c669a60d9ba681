import { expect } from "chai";
import {
  LABEL_VALUE_MAX_LENGTH,
  objectLimitBroken,
  TOTAL_ANNOTATION_BYTES,
} from "../../../../webhook/mutation/object-limits.ts";
import type { Pod } from "../../../../webhook/mutation/pod.ts";

function withMetadata(metadata: {
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}): Pod {
  return { metadata, spec: { containers: [{ name: "app", image: "a:1" }] } } as Pod;
}

describe("object limits a patch can break", () => {
  it("counts annotation keys and values in bytes (UTF-8), as the API server does", () => {
    // "k" and 131,071 two-byte characters: 262,143 bytes; one more character is 262,145.
    const fits = withMetadata({ annotations: { k: "é".repeat(131_071) } });
    const over = withMetadata({ annotations: { k: "é".repeat(131_072) } });
    expect(objectLimitBroken(withMetadata({}), fits)).to.equal(undefined);
    expect(objectLimitBroken(withMetadata({}), over)).to.match(/over the API server's limit of 262144 bytes/);
  });

  it("does not blame the patch for a pod already over a limit", () => {
    const over = withMetadata({ annotations: { k: "x".repeat(TOTAL_ANNOTATION_BYTES) } });
    expect(objectLimitBroken(over, over)).to.equal(undefined);
  });

  it("refuses a label value the patch would make longer than 63 characters", () => {
    const long = "g".repeat(LABEL_VALUE_MAX_LENGTH + 1);
    const patched = withMetadata({ labels: { "k8s.aliyun.com/p2p-group": long } });
    expect(objectLimitBroken(withMetadata({}), patched)).to.equal(
      `the injection's label k8s.aliyun.com/p2p-group would be 64 characters long, over the API server's limit of 63 for a label value`,
    );
    expect(
      objectLimitBroken(withMetadata({ labels: { "k8s.aliyun.com/p2p-group": long } }), patched),
    ).to.equal(undefined);
  });
});
