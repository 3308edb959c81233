// The api's one pub/sub subscriber. Each process holds one subscriber connection (subscriber mode takes
// a connection over); features register typed handlers for the channels of contract/, and every
// message is decoded once, by its channel's codec, before any handler sees it.
import type { Static, TSchema } from "@sinclair/typebox";
import type Redis from "ioredis";
import type { Logger } from "pino";
import type { ConnectionErrorLog } from "../../connections/error-log.ts";
import type { Channel } from "../../contract/codec.ts";

/** How long `caughtUp` waits for the subscriber's PONG before it answers "unknown" (by default). */
const CATCH_UP_TIMEOUT_MS = 250;

interface Route {
  channel: Channel<TSchema>;
  handlers: Set<(message: unknown) => void>;
  subscribed: boolean;
}

export class EventBus {
  private readonly routes = new Map<string, Route>();
  private readonly connectionListeners = new Set<() => void>();
  private readonly resubscribedListeners = new Set<() => void>();

  constructor(
    private readonly deps: {
      /** A dedicated connection, taken over by subscriber mode. */
      subscriber: Redis;
      /** Any ordinary connection of the replica, for publishing (the request one: fails fast). */
      publisher: Redis;
      /** A connection that waits out a blip (the background one), for `{ patient: true }`; default: publisher. */
      patientPublisher?: Redis;
      /** Where publishing failures go, throttled (a Redis outage fails every publish); default: log. */
      connectionErrors?: ConnectionErrorLog;
      log: Logger;
      /**
       * How long `caughtUp` waits for the PONG (CATCH_UP_TIMEOUT_MS): a request that asks pays it
       * at most. Tests of what a cache does once caught up lengthen it, so a loaded machine's slow
       * PONG does not turn their reads into uncached ones.
       */
      catchUpTimeoutMs?: number;
    },
  ) {
    deps.subscriber.on("message", (name: string, text: string) => this.dispatch(name, text));
    // What was published while the connection was down is unknown: listeners start afresh.
    const reconnected = () => {
      for (const listener of this.connectionListeners) listener();
    };
    deps.subscriber.on("ready", reconnected);
    deps.subscriber.on("close", reconnected);
    // ioredis sends the SUBSCRIBEs again before it emits `ready`: the PONG comes after their replies.
    deps.subscriber.on("ready", () => {
      deps.subscriber.ping().then(
        () => {
          for (const listener of this.resubscribedListeners) listener();
        },
        () => {}, // dropped again: the next `ready` tries anew
      );
    });
  }

  /**
   * Calls `handler` with every valid message of `channel`; subscribes the connection to it on first use
   * (ioredis subscribes again after a reconnect). Returns a function that removes the handler.
   */
  on<S extends TSchema>(channel: Channel<S>, handler: (message: Static<S>) => void): () => void {
    const name = channel.nameOn(this.deps.subscriber);
    let route = this.routes.get(name);
    if (!route) {
      route = { channel: channel as unknown as Channel<TSchema>, handlers: new Set(), subscribed: false };
      this.routes.set(name, route);
      const subscribing = route;
      this.deps.subscriber.subscribe(name).then(
        () => {
          subscribing.subscribed = true;
        },
        (error: unknown) =>
          this.deps.log.error({ err: error, channel: channel.name }, "event bus: subscribing failed"),
      );
    }
    const registered = handler as (message: unknown) => void;
    route.handlers.add(registered);
    return () => route.handlers.delete(registered);
  }

  /** Called after the subscriber connection dropped or came back (messages may have been missed). */
  onReconnect(listener: () => void): void {
    this.connectionListeners.add(listener);
  }

  /**
   * Called once the subscriber is back after a gap with its channels subscribed again: what is
   * published from then on arrives, what was published during the gap did not.
   */
  onResubscribed(listener: () => void): void {
    this.resubscribedListeners.add(listener);
  }

  /**
   * Publishes a message for every replica (this one included); a failure is logged, never thrown.
   * True when Redis took it. `patient`: on the connection that waits out a blip (a retry's).
   */
  async publish<S extends TSchema>(
    channel: Channel<S>,
    message: Static<S>,
    options: { patient?: boolean } = {},
  ): Promise<boolean> {
    const { publisher, patientPublisher = publisher, connectionErrors, log } = this.deps;
    const source = `event bus publish ${channel.name}`;
    const connection = options.patient ? patientPublisher : publisher;
    try {
      await connection.publish(channel.nameOn(connection), channel.encode(message));
      connectionErrors?.recovered(source);
      return true;
    } catch (error) {
      if (connectionErrors) connectionErrors.report(source, error);
      else log.error({ err: error, channel: channel.name }, "event bus: publishing failed");
      return false;
    }
  }

  /** True when `channel` is subscribed on a live connection, so its messages do arrive. */
  live(channel: Channel<TSchema>): boolean {
    return (
      this.routes.get(channel.nameOn(this.deps.subscriber))?.subscribed === true &&
      this.deps.subscriber.status === "ready"
    );
  }

  /**
   * True once every message published on `channel` before the call has been dispatched here: Redis
   * answers a connection's commands in order, so the PONG comes after them. False when that is unknown.
   */
  async caughtUp(channel: Channel<TSchema>): Promise<boolean> {
    if (!this.live(channel)) return false;
    const subscriber = this.deps.subscriber;
    let timer: Timer | undefined;
    try {
      return await Promise.race([
        subscriber.ping().then(() => subscriber.status === "ready"),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(false), this.deps.catchUpTimeoutMs ?? CATCH_UP_TIMEOUT_MS);
        }),
      ]);
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Resolves once every channel registered so far is subscribed (or its subscription failed). */
  async ready(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ([...this.routes.values()].some((route) => !route.subscribed) && Date.now() < deadline)
      await Bun.sleep(5);
  }

  private dispatch(name: string, text: string): void {
    const route = this.routes.get(name);
    if (!route) return;
    const decoded = route.channel.decode(text);
    if (!decoded.ok) {
      this.deps.log.warn({ channel: name, reason: decoded.reason }, "event bus: dropped a malformed message");
      return;
    }
    for (const handler of route.handlers) {
      try {
        handler(decoded.value);
      } catch (error) {
        this.deps.log.error({ err: error, channel: name }, "event bus: a handler failed");
      }
    }
  }
}
