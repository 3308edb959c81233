-- Emails are now stored in their canonical form (NFKC, lower-cased; api/auth/email-address.ts) and
-- looked up by that exact value. Rewrites earlier rows; a row whose canonical form another account
-- already holds is left as it was rather than failing the migration on the unique index.
UPDATE "users" AS "u"
SET "email" = lower(normalize("u"."email", NFKC))
WHERE "u"."email" <> lower(normalize("u"."email", NFKC))
  AND NOT EXISTS (
    SELECT 1 FROM "users" AS "o"
    WHERE "o"."id" <> "u"."id" AND lower("o"."email") = lower(lower(normalize("u"."email", NFKC)))
  );
