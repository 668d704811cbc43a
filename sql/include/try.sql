-- pg_temp.try(statement): runs it and returns 'ok', or the SQLSTATE and
-- message of its error, so that a test file can show a refusal and go on.
-- Included (\i, from the project root, where pg_regress runs) by the files
-- that show refusals with their messages.
CREATE FUNCTION pg_temp.try(statement text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE statement;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
