// Session revocations between api replicas: one replica revokes, every replica refuses the access
// tokens it covers and closes their WebSockets (api/auth/revocation-epochs.ts, api/realtime/).
import { type Static, Type } from "@sinclair/typebox";
import { channel } from "./codec.ts";

export const SessionEvent = Type.Union([
  /** One session (a login and its refreshes) ended: a logout, or a user revoking one of their sessions. */
  Type.Object({
    type: Type.Literal("session.revoked"),
    user_id: Type.Integer({ minimum: 1 }),
    // A pattern, not `format: "uuid"`: formats need a registry the contract does not set up.
    session_id: Type.String({ pattern: "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$" }),
  }),
  /** Every session of the user signed under an epoch below `epoch` ended (reset, deactivation, admin). */
  Type.Object({
    type: Type.Literal("user.sessions_revoked"),
    user_id: Type.Integer({ minimum: 1 }),
    epoch: Type.Integer({ minimum: 1 }),
  }),
]);
export type SessionEvent = Static<typeof SessionEvent>;

export const sessionEvents = channel("vf:session-events", SessionEvent);
