// Session events between api replicas: a logout on one closes that user's sockets on all.
import { type Static, Type } from "@sinclair/typebox";
import { channel } from "./codec.ts";

export const SessionEvent = Type.Object({
  type: Type.Literal("session.revoked"),
  user_id: Type.Integer({ minimum: 1 }),
});
export type SessionEvent = Static<typeof SessionEvent>;

export const sessionEvents = channel("vf:session-events", SessionEvent);
