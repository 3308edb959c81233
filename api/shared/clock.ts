/** The time source of the api; tests hand in their own to move through token lifetimes. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/**
 * The clock as epoch milliseconds. The system clock's is `Date.now`: the hot paths (the token cache,
 * heartbeats) ask for the time on every request, and `new Date()` allocates each time.
 */
export const epochMsOf = (clock: Clock): (() => number) =>
  clock === systemClock ? Date.now : () => clock.now().getTime();
