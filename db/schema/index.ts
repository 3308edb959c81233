export * from "./one-time-tokens.ts";
export * from "./refresh-tokens.ts";
export * from "./users.ts";
