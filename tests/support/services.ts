// Moved to dev/services.ts (benchmarks and load tests use it too). Kept as a re-export for the tests
// that sit beside api/, db/ and emails/ until they import dev/ directly; then delete this file.
export * from "../../dev/services.ts";
