// One typed encode/decode per message that crosses Redis: a message is checked against its TypeBox
// schema in exactly one place, so a malformed one is dropped whole (with a reason to log), never half-used.
import type { Static, TSchema } from "@sinclair/typebox";
import { Value, type ValueError } from "@sinclair/typebox/value";

export type Decoded<T> = { ok: true; value: T } | { ok: false; reason: string };

export interface MessageCodec<S extends TSchema> {
  readonly schema: S;
  encode(message: Static<S>): string;
  /** Checks a value that is already parsed (a BullMQ job's data, for example). */
  check(value: unknown): Decoded<Static<S>>;
  /** Parses and checks a JSON text (a pub/sub message). */
  decode(text: string): Decoded<Static<S>>;
}

export function messageCodec<S extends TSchema>(schema: S): MessageCodec<S> {
  const check = (value: unknown): Decoded<Static<S>> => {
    if (Value.Check(schema, value)) return { ok: true, value };
    const error = mostSpecificError(Value.Errors(schema, value));
    return {
      ok: false,
      reason: error ? `${error.path || "/"}: ${error.message}` : "does not match its schema",
    };
  };
  return {
    schema,
    encode: (message) => JSON.stringify(message),
    check,
    decode(text) {
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        return { ok: false, reason: "not JSON" };
      }
      return check(value);
    },
  };
}

/**
 * The error that says most. A message family is a union keyed by `type`, whose root error only says
 * "expected union value": the variants whose `type` matched name the field that is wrong.
 */
function mostSpecificError(errors: Iterable<ValueError>): ValueError | undefined {
  const first = errors[Symbol.iterator]().next().value as ValueError | undefined;
  if (!first || first.errors.length === 0) return first;
  const matching = first.errors
    .map((variant) => [...variant])
    .filter((variantErrors) => !variantErrors.some((error) => error.path.endsWith("/type")));
  return matching.length > 0 ? (mostSpecificError(matching[0]!) ?? first) : first;
}

/** A Redis pub/sub channel: its name and the one codec of the messages published on it. */
export interface Channel<S extends TSchema> extends MessageCodec<S> {
  readonly name: string;
  /** Its name on this connection's logical database (channelNameIn): what to publish and subscribe to. */
  nameOn(connection: RedisConnection): string;
}

/** What of an ioredis connection names a channel: the database it selected. */
export interface RedisConnection {
  readonly options: { readonly db?: number };
}

export const channel = <S extends TSchema>(name: string, schema: S): Channel<S> => ({
  name,
  nameOn: (connection) => channelNameIn(name, connection.options.db),
  ...messageCodec(schema),
});

/**
 * The name a channel has on a connection to Redis logical database `db`. Pub/sub is server-wide in
 * Redis (SELECT does not scope channels), so two deployments sharing one server on different databases
 * would hear each other's session revocations, state changes and progress ticks: every channel outside
 * database 0 carries its database's number. Database 0 keeps the bare name, as before.
 */
export function channelNameIn(name: string, db: number | undefined): string {
  return db ? `${name}@db${db}` : name;
}

/** A BullMQ queue: its name and the codec of its job payloads. */
export interface QueueContract<S extends TSchema> extends MessageCodec<S> {
  readonly name: string;
}

export const queueContract = <S extends TSchema>(name: string, schema: S): QueueContract<S> => ({
  name,
  ...messageCodec(schema),
});
