import { describe, expect, test } from "bun:test";
import { ApiRequestError } from "../api/http.ts";
import type { AdminUser } from "../api/types.ts";
import {
  accountRefusal,
  actionsFor,
  changedSentence,
  confirmationFor,
  NO_USER_FILTERS,
  ownChangeNotice,
  usersQuery,
} from "./user-rules.ts";

const ann: AdminUser = {
  id: 7,
  email: "ann@example.com",
  is_active: true,
  is_admin: false,
  created_at: "2026-11-24T08:00:00.000Z",
  last_login_at: null,
};

describe("the users page's rules", () => {
  test("the list's query: search, filters and the keyset page", () => {
    expect(usersQuery(NO_USER_FILTERS, null)).toBe("/api/admin/users?limit=25");
    expect(usersQuery({ q: "  ann@ ", role: "admin", status: "inactive" }, 120, 10)).toBe(
      "/api/admin/users?q=ann%40&is_admin=true&is_active=false&limit=10&after=120",
    );
    expect(usersQuery({ q: "", role: "member", status: "active" }, null)).toBe(
      "/api/admin/users?is_admin=false&is_active=true&limit=25",
    );
  });

  test("a row offers the switch of each flag", () => {
    expect(actionsFor(ann)).toEqual(["deactivate", "grant-admin"]);
    expect(actionsFor({ ...ann, is_active: false, is_admin: true })).toEqual(["activate", "revoke-admin"]);
  });

  test("activating needs no confirmation, but for an admin; the rest say what happens", () => {
    expect(confirmationFor(ann, "activate", false)).toBeNull();
    const admin = confirmationFor({ ...ann, is_active: false, is_admin: true }, "activate", false)!;
    expect(admin.title).toBe("Activate ann@example.com, an admin?");
    expect(admin.confirmLabel).toBe("Activate admin");
    const deactivate = confirmationFor(ann, "deactivate", false)!;
    expect(deactivate.title).toBe("Deactivate ann@example.com?");
    expect(deactivate.text.join(" ")).toContain("cannot sign in");
    expect(deactivate.ownAccount).toBe(false);
    expect(confirmationFor(ann, "grant-admin", false)!.tone).toBe("primary");
  });

  test("demoting or deactivating yourself takes the extra, deliberate step", () => {
    const me = { ...ann, is_admin: true };
    const demote = confirmationFor(me, "revoke-admin", true)!;
    expect(demote.ownAccount).toBe(true);
    expect(demote.text.join(" ")).toContain("your own account");
    expect(confirmationFor(me, "deactivate", true)!.ownAccount).toBe(true);
    // Granting yourself is a no-op the page never offers; it needs no extra step either.
    expect(confirmationFor(me, "grant-admin", true)!.ownAccount).toBe(false);
  });

  test("the api's refusals read as the studio's sentences", () => {
    const lastAdmin = new ApiRequestError(409, {
      detail: "This is the last active admin…",
      reason: "last_admin",
    });
    expect(accountRefusal(lastAdmin)).toMatch(/^Refused: this is the last active admin\./);
    const self = new ApiRequestError(409, { detail: "send `confirm_self: true`", reason: "self" });
    expect(accountRefusal(self)).toBe(
      "Refused: this is your own account. Tick the box to confirm that you mean to change it.",
    );
    const notAdmin = new ApiRequestError(403, { detail: "Your account is no longer…", reason: "not_admin" });
    expect(accountRefusal(notAdmin)).toMatch(/no longer an active admin/);
    // A CSRF or Origin refusal is a 403 too: it says its own reason.
    const csrf = new ApiRequestError(403, {
      detail: "CSRF check failed: send the csrftoken cookie's value.",
    });
    expect(accountRefusal(csrf)).toBe("CSRF check failed: send the csrftoken cookie's value.");
    expect(accountRefusal(new ApiRequestError(429, { detail: "Too many requests." }))).toBe(
      "Too many requests.",
    );
  });

  test("changing your own account or sessions says why you are back at the sign-in page", () => {
    expect(ownChangeNotice("revoke-admin")).toMatch(/^You removed your own admin right/);
    expect(ownChangeNotice("deactivate")).toMatch(/^You deactivated your own account/);
    expect(ownChangeNotice("revoke-sessions")).toMatch(/^You ended every session of your account/);
    expect(ownChangeNotice("grant-admin")).toBeNull();
  });

  test("what changed, in a sentence", () => {
    expect(changedSentence(ann, "grant-admin")).toBe("ann@example.com is an admin now.");
    expect(changedSentence(ann, "deactivate")).toContain("cannot sign in");
  });
});
