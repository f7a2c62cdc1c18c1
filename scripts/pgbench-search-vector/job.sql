-- The after-commit job's work for one ticket: its vector, written by an UPDATE (the next id from search_job_seq).
UPDATE "Ticket" SET search = setweight(to_tsvector('caseboard'::regconfig, caseboard_search_text(title)), 'A') ||
                              setweight(to_tsvector('caseboard'::regconfig, caseboard_search_text(description)), 'B')
WHERE id = (SELECT nextval('search_job_seq'));
