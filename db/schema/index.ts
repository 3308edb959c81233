export * from "./categories.ts";
export * from "./favorites.ts";
export * from "./one-time-tokens.ts";
export * from "./refresh-tokens.ts";
export * from "./retired-revisions.ts";
export * from "./users.ts";
export * from "./videos.ts";
export * from "./watch-progress.ts";
