// The Videoflix account contract, part 1: register, activate, login and the session cookies.
// Refresh, logout and password reset are in accounts-sessions.test.ts.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ACTIVATION_PREFIX, expectError, linkParts, linkStartingWith } from "../support/assertions.ts";
import {
  Client,
  createActiveUser,
  parseSetCookie,
  type SetCookie,
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

const registration = (email: string, password = STRONG_PASSWORD, confirmed = password) => ({
  email,
  password,
  confirmed_password: confirmed,
});

const activationMails = (email: string) =>
  api.smtp.mails.filter((m) => m.to.includes(email) && m.subject.includes("Activate"));

/** The cookies a response sets, by name. */
function setCookies(response: Response): Record<string, SetCookie> {
  const cookies = response.headers.getSetCookie().map(parseSetCookie);
  return Object.fromEntries(cookies.map((cookie) => [cookie.name, cookie]));
}

describe("POST /api/register/", () => {
  test("201 {detail}, extra fields ignored, and an activation mail with a frontend link", async () => {
    const email = uniqueEmail("register");
    const response = await new Client(api.url).post("/api/register/", {
      ...registration(email),
      username: "extra fields are ignored",
      is_admin: true,
    });
    expect(response.status).toBe(201);
    expect(await response.json()).toEqual({ detail: expect.any(String) });
    const mail = await api.smtp.waitForMail((m) => m.to.includes(email));
    const { uid, token } = linkParts(linkStartingWith(mail, ACTIVATION_PREFIX));
    expect(uid).not.toBe("");
    expect(token.length).toBeGreaterThanOrEqual(32);
  });

  const invalid: [string, Record<string, string>, string][] = [
    ["an invalid email", registration("not-an-email"), "email"],
    ["an email without a domain dot", registration("ann@localhost"), "email"],
    [
      "mismatched passwords",
      registration(uniqueEmail(), STRONG_PASSWORD, `${STRONG_PASSWORD}x`),
      "confirmed_password",
    ],
    ["a short password", registration(uniqueEmail(), "Ab1-xyz"), "password"],
    ["a common password", registration(uniqueEmail(), "password123"), "password"],
    ["a 129-character password", registration(uniqueEmail(), "aB3-".repeat(32).concat("x")), "password"],
  ];
  for (const [label, body, field] of invalid) {
    test(`400 with a message for "${field}" on ${label}`, async () => {
      const { body: error } = await expectError(await new Client(api.url).post("/api/register/", body), 400);
      expect(error[field]).toEqual([expect.any(String)]);
    });
  }

  test("a 128-character password is accepted", async () => {
    const password = "aB3-".repeat(32);
    const response = await new Client(api.url).post("/api/register/", registration(uniqueEmail(), password));
    expect(response.status).toBe(201);
  });

  test("an existing email (other letter case) gets the same answer, and its owner a notice without a link", async () => {
    const { email } = await createActiveUser(api);
    const fresh = await new Client(api.url).post("/api/register/", registration(uniqueEmail("fresh")));
    const again = await new Client(api.url).post("/api/register/", registration(email.toUpperCase()));
    expect(again.status).toBe(fresh.status);
    expect(await again.text()).toBe(await fresh.text());

    const notice = await api.smtp.waitForMail((m) => m.to.includes(email) && !m.subject.includes("Activate"));
    expect(notice.subject).toBe("Your Videoflix account");
    expect(notice.links.some((link) => link.includes("activate") || link.includes("token="))).toBe(false);
    expect(activationMails(email)).toHaveLength(1);
  });

  test("a registered but never activated email gets a fresh, working activation link", async () => {
    const email = uniqueEmail("unactivated");
    expect((await new Client(api.url).post("/api/register/", registration(email))).status).toBe(201);
    const first = linkStartingWith(
      await api.smtp.waitForMail((m) => m.to.includes(email)),
      ACTIVATION_PREFIX,
    );
    expect((await new Client(api.url).post("/api/register/", registration(email))).status).toBe(201);
    const second = await api.smtp.waitForMail((m) => m.to.includes(email) && !m.links.includes(first));
    const { uid, token } = linkParts(linkStartingWith(second, ACTIVATION_PREFIX));
    expect((await new Client(api.url).get(`/api/activate/${uid}/${token}/`)).status).toBe(200);
  });
});

describe("GET /api/activate/<uidb64>/<token>/", () => {
  /** Registers an account and returns its activation link's parts. */
  async function registered(): Promise<{ email: string; uid: string; token: string }> {
    const email = uniqueEmail("activate");
    expect((await new Client(api.url).post("/api/register/", registration(email))).status).toBe(201);
    const mail = await api.smtp.waitForMail((m) => m.to.includes(email));
    return { email, ...linkParts(linkStartingWith(mail, ACTIVATION_PREFIX)) };
  }

  async function expectInvalid(path: string) {
    const { body } = await expectError(await new Client(api.url).get(path), 400);
    expect(body).toEqual({ message: expect.any(String) });
  }

  test("200 {message} once, then 400 {message} when used again", async () => {
    const { uid, token } = await registered();
    const client = new Client(api.url);
    const first = await client.get(`/api/activate/${uid}/${token}/`);
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({ message: expect.any(String) });
    await expectInvalid(`/api/activate/${uid}/${token}/`);
  });

  test("400 {message} for a wrong token, another user's uid, and garbage uids", async () => {
    const { uid, token } = await registered();
    const other = await registered();
    await expectInvalid(`/api/activate/${uid}/${token.slice(0, -2)}xx/`);
    await expectInvalid(`/api/activate/${other.uid}/${token}/`);
    await expectInvalid(`/api/activate/${Buffer.from("999999").toString("base64url")}/${token}/`);
    for (const garbage of ["!!!", "MA", "bm90LWEtbnVtYmVy", "%E0%A4%A", "A".repeat(300)]) {
      await expectInvalid(`/api/activate/${garbage}/${token}/`);
    }
    await expectInvalid(`/api/activate/${uid}/${"t".repeat(400)}/`);
    // None of that consumed the real link.
    expect((await new Client(api.url).get(`/api/activate/${uid}/${token}/`)).status).toBe(200);
  });

  test("400 {message} once the link is older than 24 hours", async () => {
    const { email, uid, token } = await registered();
    api.shiftClock(24 * 3600 + 60);
    await expectInvalid(`/api/activate/${uid}/${token}/`);
    const login = await new Client(api.url).post("/api/login/", { email, password: STRONG_PASSWORD });
    expect(login.status).toBe(400);
  });
});

describe("POST /api/login/", () => {
  test("200 {detail, user:{id, username}} with the three session cookies", async () => {
    const { email, password } = await createActiveUser(api);
    const response = await new Client(api.url).post("/api/login/", { email, password });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      detail: "Login successful",
      user: { id: expect.any(Number), username: email },
    });
    const cookies = setCookies(response);
    expect(Object.keys(cookies).sort()).toEqual(["access_token", "csrftoken", "refresh_token"]);
    const { access_token: access, refresh_token: refresh, csrftoken: csrf } = cookies;
    expect(access?.attributes).toMatchObject({ httponly: true, path: "/" });
    expect(String(access?.attributes.samesite).toLowerCase()).toBe("lax");
    expect(access?.maxAge).toBe(1800);
    expect(refresh?.attributes).toMatchObject({ httponly: true, path: "/api/" });
    expect(String(refresh?.attributes.samesite).toLowerCase()).toBe("lax");
    expect(refresh?.maxAge).toBe(604800);
    expect(csrf?.attributes.httponly).toBeUndefined();
    expect(csrf?.value.length).toBeGreaterThanOrEqual(32);
    for (const cookie of [access, refresh, csrf]) expect(cookie?.attributes.secure).toBeUndefined();
  });

  test("wrong email, wrong password and an inactive account fail with one identical 400 body", async () => {
    const { email, password } = await createActiveUser(api);
    const inactive = uniqueEmail("inactive");
    expect((await new Client(api.url).post("/api/register/", registration(inactive))).status).toBe(201);
    const attempts = [
      { email: uniqueEmail("nobody"), password },
      { email, password: `${password}-wrong` },
      { email: inactive, password: STRONG_PASSWORD },
    ];
    const texts: string[] = [];
    for (const attempt of attempts) {
      const response = await new Client(api.url).post("/api/login/", attempt);
      const { body, text } = await expectError(response, 400);
      expect(body).toEqual({ detail: expect.any(String) });
      expect(response.headers.getSetCookie()).toEqual([]);
      texts.push(text);
    }
    expect(new Set(texts).size).toBe(1);
  });
});

describe("cookies behind https", () => {
  let secureApi: TestApi;
  beforeAll(async () => {
    secureApi = await startTestApi({ PUBLIC_URL: "https://api.example.com" });
  });
  afterAll(() => secureApi.stop());

  test("login sets, and logout clears, all three cookies with Secure", async () => {
    const { email, password } = await createActiveUser(secureApi);
    const client = new Client(secureApi.url);
    const login = await client.post("/api/login/", { email, password });
    expect(login.status).toBe(200);
    const issued = Object.values(setCookies(login));
    expect(issued).toHaveLength(3);
    for (const cookie of issued) expect(cookie.attributes.secure).toBe(true);

    const logout = await client.post("/api/logout/");
    expect(logout.status).toBe(200);
    const cleared = Object.values(setCookies(logout));
    expect(cleared).toHaveLength(3);
    for (const cookie of cleared) expect(cookie.attributes.secure).toBe(true);
  });
});
