export * from "./categories.ts";
export * from "./one-time-tokens.ts";
export * from "./refresh-tokens.ts";
export * from "./users.ts";
export * from "./videos.ts";
