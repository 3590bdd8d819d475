-- A step ends with its checkpoint, its log line and COMMIT sent together in
-- one round trip. The checkpoint UPDATE moves the run only from the step it
-- was loaded at; when it matches no row (another delivery of the step got
-- there first, or another process ended the run meanwhile) this raises
-- SQLSTATE JS001, so the statements after it, COMMIT included, are skipped
-- and the step's writes roll back.

-- migrate:up
CREATE FUNCTION js_step_guard(advanced bigint) RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
    IF advanced <> 1 THEN
        RAISE EXCEPTION 'the run is no longer at this step' USING ERRCODE = 'JS001';
    END IF;
    RETURN advanced;
END
$$;

-- migrate:down
DROP FUNCTION js_step_guard(bigint);
