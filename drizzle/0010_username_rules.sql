CREATE INDEX "users_username_at_lower_idx" ON "users" USING btree (lower("username")) WHERE "users"."username" like '%@%';--> statement-breakpoint
-- Issue 25 item 4: a login identifier names one account. A username never equals (case aside)
-- another account's e-mail, and an e-mail never equals another account's username, whoever writes
-- the row. The checks and the write are one step: the advisory lock orders every write that could
-- clash, so of two concurrent ones the second sees the first (READ COMMITTED: each statement of
-- this function reads what committed before it). Accounts imported sharing an e-mail (email_shared)
-- name nobody by it, so they neither block nor are blocked. 2505040 is this rule's lock key.
CREATE OR REPLACE FUNCTION users_login_names() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(2505040);
  IF NEW.username LIKE '%@%' AND EXISTS (
    SELECT 1 FROM users u
    WHERE u.id <> NEW.id AND u.email <> '' AND NOT u.email_shared AND lower(u.email) = lower(NEW.username)
  ) THEN
    RAISE EXCEPTION 'username is another account''s login address'
      USING ERRCODE = 'unique_violation', CONSTRAINT = 'users_username_login_name';
  END IF;
  IF NEW.email <> '' AND NOT NEW.email_shared AND EXISTS (
    SELECT 1 FROM users u
    WHERE u.id <> NEW.id AND u.username LIKE '%@%' AND lower(u.username) = lower(NEW.email)
  ) THEN
    RAISE EXCEPTION 'address is another account''s username'
      USING ERRCODE = 'unique_violation', CONSTRAINT = 'users_email_login_name';
  END IF;
  RETURN NEW;
END
$$;
--> statement-breakpoint
CREATE TRIGGER users_login_names BEFORE INSERT OR UPDATE OF username, email ON users
  FOR EACH ROW EXECUTE FUNCTION users_login_names();
