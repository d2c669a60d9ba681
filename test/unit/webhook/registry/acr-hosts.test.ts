import { expect } from "chai";
import { instanceHosts } from "../../../../webhook/registry/acr-hosts.ts";
import type { InstanceEndpoint, InstanceVpcEndpoint } from "../../../../webhook/cloud/cr-api.ts";

const internet = (domains: string[], enable = true): InstanceEndpoint => ({
  endpointType: "internet",
  enable,
  status: "RUNNING",
  domains: domains.map((domain) => ({ domain, type: "SYSTEM" })),
  linkedVpcIds: [],
});

const vpc = (domains: string[], linked: string[], enable = true): InstanceVpcEndpoint => ({
  enable,
  domains,
  linkedVpcs: linked.map((vpcId) => ({ vpcId, status: "RUNNING" })),
});

describe("ACR instance hosts", () => {
  it("takes the internet domains and the VPC domains of a linked VPC, lower-cased and sorted", () => {
    const r = instanceHosts(
      [internet(["Demo-registry.cn-hangzhou.cr.aliyuncs.com", "registry.example.com"])],
      vpc(["demo-registry-vpc.cn-hangzhou.cr.aliyuncs.com"], ["vpc-a", "vpc-b"]),
      "vpc-b",
    );
    expect(r.hosts).to.deep.equal([
      "demo-registry-vpc.cn-hangzhou.cr.aliyuncs.com",
      "demo-registry.cn-hangzhou.cr.aliyuncs.com",
      "registry.example.com",
    ]);
    expect(r.notes).to.deep.equal([]);
  });

  it("leaves out VPC domains when the VPC is not linked, and says so", () => {
    const r = instanceHosts(
      [internet(["demo-registry.cn-hangzhou.cr.aliyuncs.com"])],
      vpc(["demo-registry-vpc.x.cr.aliyuncs.com"], ["vpc-a"]),
      "vpc-z",
    );
    expect(r.hosts).to.deep.equal(["demo-registry.cn-hangzhou.cr.aliyuncs.com"]);
    expect(r.notes.join()).to.contain("VPC vpc-z is not linked");
  });

  it("skips disabled endpoints and a vpc-type endpoint linked elsewhere", () => {
    const vpcType: InstanceEndpoint = {
      ...internet(["demo-registry-vpc.x.cr.aliyuncs.com"]),
      endpointType: "vpc",
      linkedVpcIds: ["vpc-a"],
    };
    const r = instanceHosts([internet(["off.example.com"], false), vpcType], vpc([], [], false), "vpc-z");
    expect(r.hosts).to.deep.equal([]);
  });

  it("ignores a domain that cannot be written in an image path", () => {
    const r = instanceHosts([internet(["bad host", "ok.example.com"])], vpc([], []), "vpc-a");
    expect(r.hosts).to.deep.equal(["ok.example.com"]);
    expect(r.notes[0]).to.contain('ignored "bad host"');
  });
});
