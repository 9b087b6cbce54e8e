-- Afterward's transactional outbox (@afterward/prisma). Jobs written by afterward.deferIn(tx, ...)
-- wait here until a relay stores them in the broker with the row's id as the job id.
-- Idempotent: applying it again changes nothing. Apply it with
--   psql "$DATABASE_URL" -f node_modules/@afterward/prisma/sql/outbox.sql
-- or copy it into a migration of your own (see the @afterward/prisma README).

CREATE TABLE IF NOT EXISTS "afterward_outbox" (
  -- The job id (a UUID made at defer time).
  "id"         TEXT PRIMARY KEY,
  "task"       TEXT NOT NULL,
  "queue"      TEXT NOT NULL,
  "request_id" TEXT,
  -- The job as the broker will receive it: input, options, request id, trace context.
  "record"     JSONB NOT NULL,
  -- When the row was written (the database's clock): the relay's lag is measured from it.
  "created_at" TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()
);

CREATE INDEX IF NOT EXISTS "afterward_outbox_created_at" ON "afterward_outbox" ("created_at");
CREATE INDEX IF NOT EXISTS "afterward_outbox_request_id" ON "afterward_outbox" ("request_id")
  WHERE "request_id" IS NOT NULL;

-- Wakes the relays (LISTEN afterward_outbox) when a transaction that wrote rows commits.
CREATE OR REPLACE FUNCTION "afterward_outbox_notify"() RETURNS trigger AS $$
BEGIN
  PERFORM pg_notify('afterward_outbox', '');
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS "afterward_outbox_notify" ON "afterward_outbox";
CREATE TRIGGER "afterward_outbox_notify" AFTER INSERT ON "afterward_outbox"
  FOR EACH STATEMENT EXECUTE FUNCTION "afterward_outbox_notify"();
