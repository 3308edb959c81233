// The Videoflix account contract, part 2: refresh-token rotation, logout and password reset.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { expectError, linkParts, linkStartingWith, RESET_PREFIX } from "../support/assertions.ts";
import {
  Client,
  createActiveUser,
  loggedInClient,
  parseSetCookie,
  STRONG_PASSWORD,
  startTestApi,
  type TestApi,
  uniqueEmail,
} from "../support/test-api.ts";

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(() => api.stop());

const NEW_PASSWORD = "a-Completely-new-passphrase-7";

/** POSTs to the refresh endpoint from a fresh browser holding only this refresh token (and a csrftoken). */
function refreshWith(token: string): Promise<Response> {
  const client = new Client(api.url);
  client.cookies.set("refresh_token", token);
  client.cookies.set("csrftoken", "a-csrf-token-the-client-echoes");
  return client.post("/api/token/refresh/");
}

describe("POST /api/token/refresh/", () => {
  test("200 {detail} with new cookies; the refresh token is rotated and the new access token works", async () => {
    const client = await loggedInClient(api);
    const before = new Map(client.cookies);
    const response = await client.post("/api/token/refresh/");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ detail: expect.any(String) });
    const names = response.headers.getSetCookie().map((line) => parseSetCookie(line).name);
    expect(names.sort()).toEqual(["access_token", "csrftoken", "refresh_token"]);
    expect(client.cookies.get("refresh_token")).not.toBe(before.get("refresh_token"));
    expect(client.cookies.get("access_token")).not.toBe(before.get("access_token"));
    expect((await client.get("/api/me/")).status).toBe(200);
    expect((await client.post("/api/token/refresh/")).status).toBe(200);
  });

  test("401 without a refresh token, and with an unknown one", async () => {
    await expectError(await new Client(api.url).post("/api/token/refresh/"), 401);
    await expectError(await refreshWith("not-a-token-we-issued"), 401);
  });

  test("a rotated token presented again within the grace window gets the same successor", async () => {
    const client = await loggedInClient(api);
    const first = client.cookies.get("refresh_token")!;
    expect((await client.post("/api/token/refresh/")).status).toBe(200);
    const again = await refreshWith(first);
    expect(again.status).toBe(200);
    const cookies = new Map(again.headers.getSetCookie().map((line) => [parseSetCookie(line).name, line]));
    expect(parseSetCookie(cookies.get("refresh_token")!).value).toBe(client.cookies.get("refresh_token")!);
    expect(parseSetCookie(cookies.get("access_token")!).value).toBe(client.cookies.get("access_token")!);
    expect((await client.get("/api/me/")).status).toBe(200);
  });

  test("a rotated token presented again after the window is refused and revokes the newest token of its family", async () => {
    const client = await loggedInClient(api);
    const me = (await (await client.get("/api/me/")).json()) as { email: string };
    const stolen = client.cookies.get("refresh_token")!;
    expect((await client.post("/api/token/refresh/")).status).toBe(200);
    const newest = client.cookies.get("refresh_token")!;
    expect((await client.get("/api/me/")).status).toBe(200);

    await api.endGraceWindows();
    await expectError(await refreshWith(stolen), 401);
    await expectError(await refreshWith(newest), 401);
    // The session's access token dies with it.
    await expectError(await client.get("/api/me/"), 401);
    // A separate login (its own family) is not affected.
    const other = new Client(api.url);
    expect((await other.post("/api/login/", { email: me.email, password: STRONG_PASSWORD })).status).toBe(
      200,
    );
    expect((await other.post("/api/token/refresh/")).status).toBe(200);
  });

  test("401 once the refresh token is older than 7 days", async () => {
    const client = await loggedInClient(api);
    api.shiftClock(7 * 24 * 3600 + 60);
    await expectError(await client.post("/api/token/refresh/"), 401);
  });
});

describe("POST /api/logout/", () => {
  test("200 {detail}, clears the three cookies and revokes the refresh token server-side", async () => {
    const client = await loggedInClient(api);
    const saved = client.cookies.get("refresh_token")!;
    const response = await client.post("/api/logout/");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ detail: expect.any(String) });
    const cleared = response.headers.getSetCookie().map(parseSetCookie);
    const paths = Object.fromEntries(cleared.map((cookie) => [cookie.name, cookie.attributes.path]));
    expect(paths).toEqual({ access_token: "/", refresh_token: "/api/", csrftoken: "/" });
    for (const cookie of cleared) {
      expect(cookie.maxAge).toBe(0);
      expect(cookie.value).toBe("");
    }
    expect(client.cookies.size).toBe(0);
    await expectError(await refreshWith(saved), 401);
  });

  test("without any session it still answers 200", async () => {
    expect((await new Client(api.url).post("/api/logout/")).status).toBe(200);
  });
});

describe("password reset", () => {
  /** Requests a reset for `email` and returns the parts of the link that arrives. */
  async function requestReset(email: string, seen: string[] = []) {
    const response = await new Client(api.url).post("/api/password_reset/", { email });
    expect(response.status).toBe(200);
    const mail = await api.smtp.waitForMail(
      (m) => m.to.includes(email) && m.subject.includes("Reset") && !seen.some((l) => m.links.includes(l)),
    );
    const link = linkStartingWith(mail, RESET_PREFIX);
    return { link, ...linkParts(link) };
  }

  const confirm = (uid: string, token: string, newPassword = NEW_PASSWORD, confirmed = newPassword) =>
    new Client(api.url).post(`/api/password_confirm/${uid}/${token}/`, {
      new_password: newPassword,
      confirm_password: confirmed,
    });

  test("known and unknown emails get a byte-identical 200; only the known one gets a mail", async () => {
    const { email } = await createActiveUser(api);
    const unknown = uniqueEmail("unknown");
    const unknownResponse = await new Client(api.url).post("/api/password_reset/", { email: unknown });
    const knownResponse = await new Client(api.url).post("/api/password_reset/", { email });
    expect(knownResponse.status).toBe(200);
    expect(unknownResponse.status).toBe(200);
    expect(await unknownResponse.text()).toBe(await knownResponse.text());

    const mail = await api.smtp.waitForMail((m) => m.to.includes(email) && m.subject.includes("Reset"));
    const link = new URL(linkStartingWith(mail, RESET_PREFIX));
    expect(`${link.origin}${link.pathname}`).toBe("http://frontend.test/pages/auth/confirm_password.html");
    expect([...link.searchParams.keys()].sort()).toEqual(["token", "uid"]);
    await Bun.sleep(200); // the unknown address's mail, if any, was queued first
    expect(api.smtp.mails.filter((m) => m.to.includes(unknown))).toEqual([]);
  });

  test("confirm sets the new password once; a second use of the link is refused", async () => {
    const { email } = await createActiveUser(api);
    const { uid, token } = await requestReset(email);
    const response = await confirm(uid, token);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ detail: expect.any(String) });
    await expectError(await confirm(uid, token, "yet-Another-passphrase-8"), 400);
    const login = (password: string) => new Client(api.url).post("/api/login/", { email, password });
    expect((await login(STRONG_PASSWORD)).status).toBe(400);
    expect((await login(NEW_PASSWORD)).status).toBe(200);
  });

  test("a second request invalidates the first link", async () => {
    const { email } = await createActiveUser(api);
    const first = await requestReset(email);
    const second = await requestReset(email, [first.link]);
    await expectError(await confirm(first.uid, first.token), 400);
    expect((await confirm(second.uid, second.token)).status).toBe(200);
  });

  test("bad passwords are refused with field messages and do not consume the link", async () => {
    const { email } = await createActiveUser(api);
    const { uid, token } = await requestReset(email);
    const cases: [string, string, string][] = [
      [NEW_PASSWORD, `${NEW_PASSWORD}-typo`, "confirm_password"],
      ["Sh0rt-", "Sh0rt-", "new_password"],
      ["password123", "password123", "new_password"],
      [email, email, "new_password"],
    ];
    for (const [newPassword, confirmed, field] of cases) {
      const { body } = await expectError(await confirm(uid, token, newPassword, confirmed), 400);
      expect(body[field]).toEqual(expect.arrayContaining([expect.any(String)]));
    }
    expect((await confirm(uid, token)).status).toBe(200);
  });

  test("400 for a wrong token, another user's uid, garbage uids and an expired link", async () => {
    const { email } = await createActiveUser(api);
    const other = await createActiveUser(api);
    const { uid, token } = await requestReset(email);
    const otherLink = await requestReset(other.email);
    await expectError(await confirm(uid, `${token.slice(0, -2)}xx`), 400);
    await expectError(await confirm(otherLink.uid, token), 400);
    for (const garbage of ["!!!", "MA", "%E0%A4%A", "A".repeat(300)]) {
      await expectError(await confirm(garbage, token), 400);
    }
    api.shiftClock(3600 + 60);
    await expectError(await confirm(uid, token), 400);
  });

  test("a successful reset revokes every refresh token of the user", async () => {
    const { email, password } = await createActiveUser(api);
    const phone = new Client(api.url);
    const laptop = new Client(api.url);
    for (const device of [phone, laptop]) {
      expect((await device.post("/api/login/", { email, password })).status).toBe(200);
    }
    const { uid, token } = await requestReset(email);
    expect((await confirm(uid, token)).status).toBe(200);
    await expectError(await phone.post("/api/token/refresh/"), 401);
    await expectError(await laptop.post("/api/token/refresh/"), 401);
  });
});
