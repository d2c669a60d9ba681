import { expect } from "chai";
const x: number = 1;
describe("smoke", () => {
  it("runs ts", () => {
    expect(x).to.equal(1);
  });
});
