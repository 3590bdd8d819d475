-- A counter of changes to jira_user, bumped in the changing transaction
-- itself: a reader that sees epoch N sees every user change up to N. The
-- admin plane keeps the users it has read in memory and trusts them while
-- the epoch it reads beside the rows that reference them is the one they
-- were read under; any change makes the next read fetch them again.
-- Upserts that change nothing (the sync's usual case) do not bump it.

-- migrate:up
CREATE TABLE jira_user_epoch (
    one boolean PRIMARY KEY DEFAULT true CHECK (one),
    epoch bigint NOT NULL
);
INSERT INTO jira_user_epoch (epoch) VALUES (1);

CREATE FUNCTION jira_user_bump_epoch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM changed) THEN
        UPDATE jira_user_epoch SET epoch = epoch + 1;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER jira_user_epoch_insert AFTER INSERT ON jira_user
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION jira_user_bump_epoch();
CREATE TRIGGER jira_user_epoch_update AFTER UPDATE ON jira_user
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION jira_user_bump_epoch();
CREATE TRIGGER jira_user_epoch_delete AFTER DELETE ON jira_user
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION jira_user_bump_epoch();
CREATE FUNCTION jira_user_bump_epoch_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE jira_user_epoch SET epoch = epoch + 1;
    RETURN NULL;
END
$$;
CREATE TRIGGER jira_user_epoch_truncate AFTER TRUNCATE ON jira_user
    FOR EACH STATEMENT EXECUTE FUNCTION jira_user_bump_epoch_truncate();

-- migrate:down
DROP TRIGGER jira_user_epoch_truncate ON jira_user;
DROP TRIGGER jira_user_epoch_delete ON jira_user;
DROP TRIGGER jira_user_epoch_update ON jira_user;
DROP TRIGGER jira_user_epoch_insert ON jira_user;
DROP FUNCTION jira_user_bump_epoch_truncate();
DROP FUNCTION jira_user_bump_epoch();
DROP TABLE jira_user_epoch;
