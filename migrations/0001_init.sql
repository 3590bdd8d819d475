-- The whole data model: Jira data (projects, users, issues, sprints,
-- comments, worklogs) and the sync bookkeeping (jobs, states, runs, logs,
-- alerts). Jira numeric ids are the keys: an issue's key changes when it
-- moves, its id never does. Timestamps are timestamptz (UTC).

-- migrate:up
CREATE TABLE project (
    id              bigserial PRIMARY KEY,
    key             text NOT NULL UNIQUE CHECK (key ~ '^[A-Z][A-Z0-9_]{0,254}$'),
    jira_id         bigint,
    name            text,
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE project_tracked_user (
    project_id      bigint NOT NULL REFERENCES project(id) ON DELETE CASCADE,
    account_id      text NOT NULL,
    added_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, account_id)
);

CREATE TABLE jira_user (
    account_id      text PRIMARY KEY,
    display_name    text,
    email           text,
    time_zone       text,
    account_type    text,
    active          boolean NOT NULL DEFAULT true,
    synced_at       timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE issue (
    id                  bigint PRIMARY KEY,
    project_id          bigint NOT NULL REFERENCES project(id) ON DELETE CASCADE,
    key                 text NOT NULL,
    summary             text,
    status              text,
    status_category     text,
    priority            text,
    issue_type          text,
    assignee_id         text,
    reporter_id         text,
    created             timestamptz,
    updated             timestamptz NOT NULL,
    resolved            timestamptz,
    labels              text[] NOT NULL DEFAULT '{}',
    description         text,
    description_adf     jsonb,
    comment_total       integer NOT NULL DEFAULT 0,
    worklog_total       integer NOT NULL DEFAULT 0,
    deleted_at          timestamptz,
    synced_at           timestamptz NOT NULL DEFAULT now(),
    search_vector       tsvector GENERATED ALWAYS AS (
        to_tsvector('simple', coalesce(summary, '') || ' ' || coalesce(description, ''))) STORED
);
CREATE INDEX issue_project_updated_idx ON issue (project_id, updated DESC, id);
CREATE INDEX issue_project_key_idx ON issue (project_id, key);
CREATE INDEX issue_assignee_idx ON issue (assignee_id);
CREATE INDEX issue_search_idx ON issue USING gin (search_vector);

CREATE TABLE sprint (
    id              bigint PRIMARY KEY,
    board_id        bigint,
    name            text NOT NULL,
    state           text NOT NULL,
    goal            text,
    start_date      timestamptz,
    end_date        timestamptz,
    complete_date   timestamptz,
    synced_at       timestamptz NOT NULL DEFAULT now()
);

-- Which projects a sprint was seen on (through their boards).
CREATE TABLE project_sprint (
    project_id      bigint NOT NULL REFERENCES project(id) ON DELETE CASCADE,
    sprint_id       bigint NOT NULL REFERENCES sprint(id) ON DELETE CASCADE,
    PRIMARY KEY (project_id, sprint_id)
);

-- Links come from the issue's sprint field; a sprint may not be known yet
-- (no board visible), so there is no foreign key to sprint.
CREATE TABLE issue_sprint (
    issue_id        bigint NOT NULL REFERENCES issue(id) ON DELETE CASCADE,
    sprint_id       bigint NOT NULL,
    PRIMARY KEY (issue_id, sprint_id)
);
CREATE INDEX issue_sprint_sprint_idx ON issue_sprint (sprint_id);

CREATE TABLE comment (
    id                  bigint PRIMARY KEY,
    issue_id            bigint NOT NULL REFERENCES issue(id) ON DELETE CASCADE,
    author_id           text,
    update_author_id    text,
    body                text,
    body_adf            jsonb,
    created             timestamptz,
    updated             timestamptz,
    synced_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX comment_issue_idx ON comment (issue_id, created, id);

CREATE TABLE worklog (
    id                  bigint PRIMARY KEY,
    issue_id            bigint NOT NULL REFERENCES issue(id) ON DELETE CASCADE,
    author_id           text,
    update_author_id    text,
    comment             text,
    comment_adf         jsonb,
    started             timestamptz,
    created             timestamptz,
    updated             timestamptz,
    time_spent_seconds  bigint NOT NULL DEFAULT 0,
    synced_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX worklog_issue_idx ON worklog (issue_id, started, id);
CREATE INDEX worklog_author_idx ON worklog (author_id);

-- What jira_prepare learnt about a Jira site (flavour, the sprint custom
-- field), so that incremental runs need not ask again every time.
CREATE TABLE jira_site (
    base_url        text PRIMARY KEY,
    flavour         text NOT NULL CHECK (flavour IN ('cloud', 'datacenter')),
    sprint_field    text,
    checked_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TYPE sync_job_status AS ENUM ('ACTIVE', 'PAUSED', 'ERROR');
CREATE TYPE sync_status AS ENUM ('IDLE', 'RUNNING', 'SUCCESS', 'FAILED');

CREATE TABLE sync_job (
    project_id      bigint PRIMARY KEY REFERENCES project(id) ON DELETE CASCADE,
    cron            text NOT NULL,
    effective_cron  text NOT NULL,
    jitter_seconds  integer NOT NULL DEFAULT 0,
    overlap_policy  text NOT NULL DEFAULT 'SKIP' CHECK (overlap_policy IN ('SKIP', 'BUFFER_ONE')),
    status          sync_job_status NOT NULL DEFAULT 'ACTIVE',
    pause_note      text,
    failure_streak  integer NOT NULL DEFAULT 0,
    last_run_at     timestamptz,
    next_run_at     timestamptz,
    updated_at      timestamptz NOT NULL DEFAULT now()
);

-- Cursors per project and entity: 'issue', 'comment', 'worklog', 'sprint'.
CREATE TABLE sync_state (
    project_id      bigint NOT NULL REFERENCES project(id) ON DELETE CASCADE,
    entity          text NOT NULL CHECK (entity IN ('issue', 'comment', 'worklog', 'sprint')),
    cursor_ms       bigint,
    status          sync_status NOT NULL DEFAULT 'IDLE',
    last_success_at timestamptz,
    last_error_code text,
    last_reconcile_at timestamptz,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, entity)
);

CREATE TABLE sync_run (
    id              bigserial PRIMARY KEY,
    project_id      bigint NOT NULL REFERENCES project(id) ON DELETE CASCADE,
    kind            text NOT NULL CHECK (kind IN ('full', 'incremental', 'backfill')),
    trigger         text NOT NULL CHECK (trigger IN ('schedule', 'manual', 'backfill')),
    slot_at         timestamptz,
    status          sync_status NOT NULL DEFAULT 'RUNNING',
    step_seq        integer NOT NULL DEFAULT 0,
    checkpoint      jsonb NOT NULL DEFAULT '{}',
    account_ids     text[],
    error_code      text,
    error_message   text,
    issues_upserted     bigint NOT NULL DEFAULT 0,
    issues_deleted      bigint NOT NULL DEFAULT 0,
    comments_upserted   bigint NOT NULL DEFAULT 0,
    comments_deleted    bigint NOT NULL DEFAULT 0,
    worklogs_upserted   bigint NOT NULL DEFAULT 0,
    worklogs_deleted    bigint NOT NULL DEFAULT 0,
    sprints_upserted    bigint NOT NULL DEFAULT 0,
    jira_requests       bigint NOT NULL DEFAULT 0,
    jira_bytes          bigint NOT NULL DEFAULT 0,
    started_at      timestamptz NOT NULL DEFAULT now(),
    heartbeat_at    timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz
);
-- One active run per project (one workflow per id).
CREATE UNIQUE INDEX sync_run_one_active ON sync_run (project_id) WHERE status = 'RUNNING';
-- A schedule slot starts at most one run, even with two leaders.
CREATE UNIQUE INDEX sync_run_slot ON sync_run (project_id, slot_at) WHERE slot_at IS NOT NULL;
CREATE INDEX sync_run_project_idx ON sync_run (project_id, id DESC);

-- Work a run still owes: issues whose embedded comments or worklogs were
-- truncated (kind 'comment' / 'worklog'), written in the same transaction
-- as the page that found them and removed with the step that fetches them.
CREATE TABLE sync_run_overflow (
    run_id          bigint NOT NULL REFERENCES sync_run(id) ON DELETE CASCADE,
    kind            text NOT NULL CHECK (kind IN ('comment', 'worklog')),
    issue_id        bigint NOT NULL,
    PRIMARY KEY (run_id, kind, issue_id)
);

-- Issue ids seen by a run's deletion reconciliation, until it finishes.
CREATE TABLE sync_run_seen (
    run_id          bigint NOT NULL REFERENCES sync_run(id) ON DELETE CASCADE,
    issue_id        bigint NOT NULL,
    PRIMARY KEY (run_id, issue_id)
);

CREATE TABLE sync_log (
    id              bigserial PRIMARY KEY,
    project_id      bigint REFERENCES project(id) ON DELETE CASCADE,
    run_id          bigint REFERENCES sync_run(id) ON DELETE CASCADE,
    level           text NOT NULL CHECK (level IN ('DEBUG', 'INFO', 'WARN', 'ERROR')),
    message         text NOT NULL,
    details         jsonb NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sync_log_project_idx ON sync_log (project_id, id DESC);

CREATE TABLE alert (
    id              bigserial PRIMARY KEY,
    project_id      bigint REFERENCES project(id) ON DELETE CASCADE,
    code            text NOT NULL,
    category        text NOT NULL,
    dedup_key       text NOT NULL,
    subject         text NOT NULL,
    body            text NOT NULL,
    channel         text,
    sent_at         timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX alert_dedup_idx ON alert (dedup_key, created_at DESC);

-- migrate:down
DROP TABLE alert;
DROP TABLE sync_log;
DROP TABLE sync_run_seen;
DROP TABLE sync_run_overflow;
DROP TABLE sync_run;
DROP TABLE sync_state;
DROP TABLE sync_job;
DROP TYPE sync_status;
DROP TYPE sync_job_status;
DROP TABLE jira_site;
DROP TABLE worklog;
DROP TABLE comment;
DROP TABLE issue_sprint;
DROP TABLE project_sprint;
DROP TABLE sprint;
DROP TABLE issue;
DROP TABLE jira_user;
DROP TABLE project_tracked_user;
DROP TABLE project;
