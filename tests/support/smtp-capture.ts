// Moved to dev/smtp-capture.ts (benchmarks use it too). Kept as a re-export for the tests that sit
// beside db/ and emails/ until they import dev/ directly; then delete this file.
export * from "../../dev/smtp-capture.ts";
