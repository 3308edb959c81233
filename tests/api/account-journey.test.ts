import { afterAll, beforeAll, expect, test } from "bun:test";
import { Client, STRONG_PASSWORD, startTestApi, type TestApi, uniqueEmail } from "../support/test-api.ts";

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(() => api.stop());

const linkParts = (link: string) => {
  const url = new URL(link);
  return { uid: url.searchParams.get("uid")!, token: url.searchParams.get("token")! };
};

test("register → mail → activate → login → refresh → logout → reset → login with the new password", async () => {
  const email = uniqueEmail("journey");
  const browser = new Client(api.url, "http://frontend.test");

  const registered = await browser.post("/api/register/", {
    email,
    password: STRONG_PASSWORD,
    confirmed_password: STRONG_PASSWORD,
    username: "ignored extra field",
  });
  expect(registered.status).toBe(201);
  expect(await registered.json()).toEqual({ detail: expect.any(String) });

  const activationMail = await api.smtp.waitForMail((m) => m.to.includes(email));
  expect(activationMail.subject).toBe("Activate your Videoflix account");
  const activationLink = activationMail.links.find((l) =>
    l.startsWith("http://frontend.test/pages/auth/activate.html"),
  );
  expect(activationLink).toBeDefined();
  expect(activationMail.text).toContain(activationLink!);

  // Not active yet: login fails with the generic message.
  const early = await browser.post("/api/login/", { email, password: STRONG_PASSWORD });
  expect(early.status).toBe(400);

  const { uid, token } = linkParts(activationLink!);
  const activated = await browser.get(`/api/activate/${uid}/${token}/`);
  expect(activated.status).toBe(200);
  expect(await activated.json()).toEqual({ message: expect.any(String) });

  const login = await browser.post("/api/login/", { email: email.toUpperCase(), password: STRONG_PASSWORD });
  expect(login.status).toBe(200);
  const loginBody = (await login.json()) as { detail: string; user: { id: number; username: string } };
  expect(loginBody).toEqual({
    detail: "Login successful",
    user: { id: expect.any(Number), username: email },
  });
  expect(browser.cookies.has("access_token")).toBe(true);
  expect(browser.cookies.has("refresh_token")).toBe(true);
  expect(browser.cookies.has("csrftoken")).toBe(true);

  const me = await browser.get("/api/me/");
  expect(me.status).toBe(200);
  expect(((await me.json()) as { email: string }).email).toBe(email);

  const firstRefresh = browser.cookies.get("refresh_token");
  const refreshed = await browser.post("/api/token/refresh/");
  expect(refreshed.status).toBe(200);
  expect(browser.cookies.get("refresh_token")).not.toBe(firstRefresh);

  const logout = await browser.post("/api/logout/");
  expect(logout.status).toBe(200);
  expect(browser.cookies.size).toBe(0);
  expect((await browser.get("/api/me/")).status).toBe(401);

  const reset = await browser.post("/api/password_reset/", { email });
  expect(reset.status).toBe(200);
  const resetMail = await api.smtp.waitForMail((m) => m.to.includes(email) && m.subject.includes("Reset"));
  const resetLink = resetMail.links.find((l) => l.includes("/pages/auth/confirm_password.html"))!;
  const parts = linkParts(resetLink);
  const newPassword = "a-Completely-new-passphrase-7";
  const confirmed = await browser.post(`/api/password_confirm/${parts.uid}/${parts.token}/`, {
    new_password: newPassword,
    confirm_password: newPassword,
  });
  expect(confirmed.status).toBe(200);

  expect((await browser.post("/api/login/", { email, password: STRONG_PASSWORD })).status).toBe(400);
  const relogin = await browser.post("/api/login/", { email, password: newPassword });
  expect(relogin.status).toBe(200);
});
