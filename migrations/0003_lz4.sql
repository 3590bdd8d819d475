-- The large columns (Jira descriptions and comment/worklog bodies, as text
-- and as ADF jsonb) are compressed with lz4 instead of pglz: several times
-- faster to compress on every sync write and to decompress on every read,
-- for about the same size on this kind of text. Existing values keep their
-- compression until they are rewritten.

-- migrate:up
ALTER TABLE issue
    ALTER COLUMN description SET COMPRESSION lz4,
    ALTER COLUMN description_adf SET COMPRESSION lz4;
ALTER TABLE comment
    ALTER COLUMN body SET COMPRESSION lz4,
    ALTER COLUMN body_adf SET COMPRESSION lz4;
ALTER TABLE worklog
    ALTER COLUMN comment SET COMPRESSION lz4,
    ALTER COLUMN comment_adf SET COMPRESSION lz4;

-- migrate:down
ALTER TABLE worklog
    ALTER COLUMN comment_adf SET COMPRESSION pglz,
    ALTER COLUMN comment SET COMPRESSION pglz;
ALTER TABLE comment
    ALTER COLUMN body_adf SET COMPRESSION pglz,
    ALTER COLUMN body SET COMPRESSION pglz;
ALTER TABLE issue
    ALTER COLUMN description_adf SET COMPRESSION pglz,
    ALTER COLUMN description SET COMPRESSION pglz;
