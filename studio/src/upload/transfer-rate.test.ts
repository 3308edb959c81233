import { describe, expect, test } from "bun:test";
import { TransferRate } from "./transfer-rate.ts";

describe("an upload's transfer rate", () => {
  test("is unknown until enough time was measured, then bytes over time", () => {
    const rate = new TransferRate();
    rate.record(0, 0);
    rate.record(500_000, 500);
    expect(rate.bytesPerSecond(500)).toBeNull();
    expect(rate.secondsLeft(10_000_000, 500)).toBeNull();
    rate.record(2_000_000, 2_000);
    expect(rate.bytesPerSecond(2_000)).toBe(1_000_000);
    expect(rate.secondsLeft(10_000_000, 2_000)).toBe(8);
  });

  test("a stall lowers the rate as time passes without bytes", () => {
    const rate = new TransferRate();
    rate.record(0, 0);
    rate.record(1_000_000, 1_000);
    expect(rate.bytesPerSecond(2_000)).toBe(500_000);
  });

  test("keeps only the last few seconds, and starts over when the offset goes back", () => {
    const rate = new TransferRate();
    rate.record(0, 0);
    rate.record(10_000_000, 1_000);
    for (let second = 2; second <= 12; second++)
      rate.record(10_000_000 + (second - 1) * 100_000, second * 1_000);
    expect(rate.bytesPerSecond(12_000)).toBeCloseTo(100_000, -2);
    rate.record(0, 13_000);
    expect(rate.bytesPerSecond(13_000)).toBeNull();
  });
});
