import { expect, test } from "bun:test";
import { loadTranscoderConfig } from "../../transcoder/config.ts";

test("the metrics server listens on loopback unless told otherwise (metrics are not public on a host)", () => {
  expect(loadTranscoderConfig({}).metricsHost).toBe("127.0.0.1");
  expect(loadTranscoderConfig({ TRANSCODER_METRICS_HOST: "0.0.0.0" }).metricsHost).toBe("0.0.0.0");
});
