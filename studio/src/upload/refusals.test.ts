import { describe, expect, test } from "bun:test";
import { DetailedError, type HttpResponse } from "tus-js-client";
import { isRefusal, missingDetail, refusalOf } from "./refusals.ts";

/** An answer as tus-js-client hands it over, with the api's JSON body. */
function answered(status: number, body: string): Error {
  const response: HttpResponse = {
    getStatus: () => status,
    getHeader: () => undefined,
    getBody: () => body,
    getUnderlyingObject: () => null,
  };
  return Object.assign(new DetailedError("tus: unexpected response"), { originalResponse: response });
}

describe("a tus refusal, for people", () => {
  test("the file's problem is said without the field's name", () => {
    const error = answered(415, JSON.stringify({ file: ["The file is empty."] }));
    expect(refusalOf(error, null)).toEqual({ status: 415, message: "The file is empty." });
  });

  test("413 names the limit when it is known", () => {
    const error = answered(413, JSON.stringify({ detail: "Maximum size exceeded" }));
    expect(refusalOf(error, 10_737_418_240).message).toBe(
      "The file is too big for this server. It takes files up to 10.7 GB.",
    );
    expect(refusalOf(error, null).message).toBe("The file is too big for this server.");
  });

  test("another field names itself; no answer at all is a lost connection", () => {
    expect(refusalOf(answered(400, JSON.stringify({ category: ["Too long."] })), null).message).toBe(
      "category: Too long.",
    );
    expect(refusalOf(new Error("network"), null)).toEqual({
      status: 0,
      message: "The server cannot be reached. Check the connection and try again.",
    });
  });

  test("only a 4xx that another try cannot change is final", () => {
    expect([400, 401, 413, 415].map(isRefusal)).toEqual([true, true, true, true]);
    expect([0, 409, 423, 500, 503].map(isRefusal)).toEqual([false, false, false, false, false]);
  });

  test("a title and a category are asked for before the start", () => {
    expect(missingDetail({ title: " ", description: "", category: "News" })).toBe(
      "Give the video a title first.",
    );
    expect(missingDetail({ title: "Clip", description: "", category: "" })).toBe("Choose a category first.");
    expect(missingDetail({ title: "Clip", description: "", category: "News" })).toBeNull();
  });
});
