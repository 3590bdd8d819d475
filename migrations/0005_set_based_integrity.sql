-- Referential integrity of the synced rows, checked per statement instead of
-- per row. A foreign key checks each inserted comment, worklog, sprint link
-- and issue with its own query against the parent (a sync page of 100 issues
-- ran some 500 of them), which cost about 13% of PostgreSQL's time in a
-- full sync. The same rules now hold through statement triggers with
-- transition tables: one query per statement looks for a new row whose
-- parent is missing and fails the statement with foreign_key_violation
-- (23503), as the foreign key did; deleting a project, an issue or a run deletes what hangs off it,
-- as ON DELETE CASCADE did, and TRUNCATE issue empties the children too.
-- The one thing given up: a foreign key also locked the parent row against
-- a concurrent delete. jirasync never deletes issues (it marks them
-- deleted_at); only removing a whole project deletes them.

-- migrate:up
ALTER TABLE issue DROP CONSTRAINT issue_project_id_fkey;
ALTER TABLE comment DROP CONSTRAINT comment_issue_id_fkey;
ALTER TABLE worklog DROP CONSTRAINT worklog_issue_id_fkey;
ALTER TABLE issue_sprint DROP CONSTRAINT issue_sprint_issue_id_fkey;
ALTER TABLE sync_run_seen DROP CONSTRAINT sync_run_seen_run_id_fkey;

-- One check function per parent, with static SQL so that its plan is kept
-- (PL/pgSQL keeps one copy of a trigger function per table it is on). The
-- parent is probed by primary key once per new row, as a subquery rather
-- than NOT EXISTS: an anti-join may be planned as a hash join over the whole
-- parent table while it is still small, and the plan is kept as it grows.
CREATE FUNCTION js_orphan(child text, col text, parent text, key text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    RAISE foreign_key_violation USING
        MESSAGE = format('insert or update on table "%s" violates the reference to "%s"',
                         child, parent),
        DETAIL = format('Key (%s)=(%s) is not present in table "%s".', col, key, parent);
END
$$;

CREATE FUNCTION js_check_project() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    orphan bigint;
BEGIN
    SELECT n.project_id INTO orphan FROM js_new n
    WHERE (SELECT true FROM project p WHERE p.id = n.project_id) IS NULL LIMIT 1;
    IF FOUND THEN
        PERFORM js_orphan(TG_TABLE_NAME, 'project_id', 'project', orphan::text);
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION js_check_issue() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    orphan bigint;
BEGIN
    SELECT n.issue_id INTO orphan FROM js_new n
    WHERE (SELECT true FROM issue p WHERE p.id = n.issue_id) IS NULL LIMIT 1;
    IF FOUND THEN
        PERFORM js_orphan(TG_TABLE_NAME, 'issue_id', 'issue', orphan::text);
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION js_check_run() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    orphan bigint;
BEGIN
    SELECT n.run_id INTO orphan FROM js_new n
    WHERE (SELECT true FROM sync_run p WHERE p.id = n.run_id) IS NULL LIMIT 1;
    IF FOUND THEN
        PERFORM js_orphan(TG_TABLE_NAME, 'run_id', 'sync_run', orphan::text);
    END IF;
    RETURN NULL;
END
$$;

-- TG_ARGV: child table, child column, parent key column.
CREATE FUNCTION js_delete_children() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('DELETE FROM %1$I c WHERE c.%2$I IN (SELECT o.%3$I FROM js_old o)',
                   TG_ARGV[0], TG_ARGV[1], TG_ARGV[2]);
    RETURN NULL;
END
$$;

CREATE TRIGGER issue_project_ins AFTER INSERT ON issue REFERENCING NEW TABLE AS js_new
    FOR EACH STATEMENT EXECUTE FUNCTION js_check_project();
CREATE TRIGGER issue_project_upd AFTER UPDATE ON issue REFERENCING NEW TABLE AS js_new
    FOR EACH STATEMENT EXECUTE FUNCTION js_check_project();
CREATE TRIGGER comment_issue_ins AFTER INSERT ON comment REFERENCING NEW TABLE AS js_new
    FOR EACH STATEMENT EXECUTE FUNCTION js_check_issue();
CREATE TRIGGER comment_issue_upd AFTER UPDATE ON comment REFERENCING NEW TABLE AS js_new
    FOR EACH STATEMENT EXECUTE FUNCTION js_check_issue();
CREATE TRIGGER worklog_issue_ins AFTER INSERT ON worklog REFERENCING NEW TABLE AS js_new
    FOR EACH STATEMENT EXECUTE FUNCTION js_check_issue();
CREATE TRIGGER worklog_issue_upd AFTER UPDATE ON worklog REFERENCING NEW TABLE AS js_new
    FOR EACH STATEMENT EXECUTE FUNCTION js_check_issue();
CREATE TRIGGER issue_sprint_issue_ins AFTER INSERT ON issue_sprint REFERENCING NEW TABLE AS js_new
    FOR EACH STATEMENT EXECUTE FUNCTION js_check_issue();
CREATE TRIGGER issue_sprint_issue_upd AFTER UPDATE ON issue_sprint REFERENCING NEW TABLE AS js_new
    FOR EACH STATEMENT EXECUTE FUNCTION js_check_issue();
CREATE TRIGGER sync_run_seen_run_ins AFTER INSERT ON sync_run_seen REFERENCING NEW TABLE AS js_new
    FOR EACH STATEMENT EXECUTE FUNCTION js_check_run();
CREATE TRIGGER sync_run_seen_run_upd AFTER UPDATE ON sync_run_seen REFERENCING NEW TABLE AS js_new
    FOR EACH STATEMENT EXECUTE FUNCTION js_check_run();

-- Deleting a parent (or changing its key) deletes its children.
CREATE TRIGGER project_issues_del AFTER DELETE ON project REFERENCING OLD TABLE AS js_old
    FOR EACH STATEMENT EXECUTE FUNCTION js_delete_children('issue', 'project_id', 'id');
CREATE TRIGGER issue_comments_del AFTER DELETE ON issue REFERENCING OLD TABLE AS js_old
    FOR EACH STATEMENT EXECUTE FUNCTION js_delete_children('comment', 'issue_id', 'id');
CREATE TRIGGER issue_worklogs_del AFTER DELETE ON issue REFERENCING OLD TABLE AS js_old
    FOR EACH STATEMENT EXECUTE FUNCTION js_delete_children('worklog', 'issue_id', 'id');
CREATE TRIGGER issue_sprints_del AFTER DELETE ON issue REFERENCING OLD TABLE AS js_old
    FOR EACH STATEMENT EXECUTE FUNCTION js_delete_children('issue_sprint', 'issue_id', 'id');
CREATE TRIGGER sync_run_seen_del AFTER DELETE ON sync_run REFERENCING OLD TABLE AS js_old
    FOR EACH STATEMENT EXECUTE FUNCTION js_delete_children('sync_run_seen', 'run_id', 'id');

-- A parent's key never changes (Jira ids are stable); refuse it rather than
-- leave children pointing at a key that is gone.
CREATE FUNCTION js_key_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE foreign_key_violation USING
        MESSAGE = format('the key of "%s" %s cannot change while rows refer to it',
                         TG_TABLE_NAME, OLD.id);
END
$$;
CREATE TRIGGER project_key_fixed BEFORE UPDATE OF id ON project
    FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id) EXECUTE FUNCTION js_key_fixed();
CREATE TRIGGER issue_key_fixed BEFORE UPDATE OF id ON issue
    FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id) EXECUTE FUNCTION js_key_fixed();
CREATE TRIGGER sync_run_key_fixed BEFORE UPDATE OF id ON sync_run
    FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id) EXECUTE FUNCTION js_key_fixed();

CREATE FUNCTION js_truncate_issue_children() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- DELETE, not TRUNCATE: the truncate that fired this may list them too.
    DELETE FROM comment;
    DELETE FROM worklog;
    DELETE FROM issue_sprint;
    RETURN NULL;
END
$$;
CREATE TRIGGER issue_truncate AFTER TRUNCATE ON issue
    FOR EACH STATEMENT EXECUTE FUNCTION js_truncate_issue_children();

-- migrate:down
DROP TRIGGER issue_truncate ON issue;
DROP FUNCTION js_truncate_issue_children();
DROP TRIGGER sync_run_key_fixed ON sync_run;
DROP TRIGGER issue_key_fixed ON issue;
DROP TRIGGER project_key_fixed ON project;
DROP FUNCTION js_key_fixed();
DROP TRIGGER sync_run_seen_del ON sync_run;
DROP TRIGGER issue_sprints_del ON issue;
DROP TRIGGER issue_worklogs_del ON issue;
DROP TRIGGER issue_comments_del ON issue;
DROP TRIGGER project_issues_del ON project;
DROP TRIGGER sync_run_seen_run_upd ON sync_run_seen;
DROP TRIGGER sync_run_seen_run_ins ON sync_run_seen;
DROP TRIGGER issue_sprint_issue_upd ON issue_sprint;
DROP TRIGGER issue_sprint_issue_ins ON issue_sprint;
DROP TRIGGER worklog_issue_upd ON worklog;
DROP TRIGGER worklog_issue_ins ON worklog;
DROP TRIGGER comment_issue_upd ON comment;
DROP TRIGGER comment_issue_ins ON comment;
DROP TRIGGER issue_project_upd ON issue;
DROP TRIGGER issue_project_ins ON issue;
DROP FUNCTION js_delete_children();
DROP FUNCTION js_check_run();
DROP FUNCTION js_check_issue();
DROP FUNCTION js_check_project();
DROP FUNCTION js_orphan(text, text, text, text);
ALTER TABLE sync_run_seen ADD CONSTRAINT sync_run_seen_run_id_fkey
    FOREIGN KEY (run_id) REFERENCES sync_run(id) ON DELETE CASCADE;
ALTER TABLE issue_sprint ADD CONSTRAINT issue_sprint_issue_id_fkey
    FOREIGN KEY (issue_id) REFERENCES issue(id) ON DELETE CASCADE;
ALTER TABLE worklog ADD CONSTRAINT worklog_issue_id_fkey
    FOREIGN KEY (issue_id) REFERENCES issue(id) ON DELETE CASCADE;
ALTER TABLE comment ADD CONSTRAINT comment_issue_id_fkey
    FOREIGN KEY (issue_id) REFERENCES issue(id) ON DELETE CASCADE;
ALTER TABLE issue ADD CONSTRAINT issue_project_id_fkey
    FOREIGN KEY (project_id) REFERENCES project(id) ON DELETE CASCADE;
