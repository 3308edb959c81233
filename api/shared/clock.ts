/** The time source of the api; tests hand in their own to move through token lifetimes. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
