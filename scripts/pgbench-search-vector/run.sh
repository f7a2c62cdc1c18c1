#!/bin/bash
# Issue 14: the ticket search vector computed in the creating transaction (v1, the generated column),
# after commit by a job (v2: a plain column, the create, then the job's UPDATE), or not at all (v0).
# Usage: PGBENCH_DB=search_create scripts/pgbench-search-vector/run.sh v1|v2|v0 [seconds]; alternate the runs.
# It leaves the table as the variant had it: end with v1 (as the migrations make it).
# usage: run.sh variant seconds ; variants: v1 (generated column, in the transaction), v2 (plain column: create, then the job's UPDATE), v0 (no vector, no index)
set -e
# The database: a seeded one of its own (it is changed and written to), e.g. npm run seed -- --tickets 40000 into search_create.
DB="-h 127.0.0.1 -U postgres ${PGBENCH_DB:-search_create}"
HERE=$(dirname "$0")
GEN="setweight(to_tsvector('caseboard'::regconfig, \"caseboard_search_text\"(\"title\")), 'A') || setweight(to_tsvector('caseboard'::regconfig, \"caseboard_search_text\"(\"description\")), 'B')"
to_v1() { psql -q $DB -c "DROP INDEX IF EXISTS \"Ticket_status_urgency_search_idx\"" -c "ALTER TABLE \"Ticket\" DROP COLUMN IF EXISTS search" -c "ALTER TABLE \"Ticket\" ADD COLUMN search tsvector GENERATED ALWAYS AS ($GEN) STORED" -c "CREATE INDEX \"Ticket_status_urgency_search_idx\" ON \"Ticket\" USING GIN (status, urgency, search)" -c "VACUUM ANALYZE \"Ticket\""; }
to_v2() { psql -q $DB -c "DROP INDEX IF EXISTS \"Ticket_status_urgency_search_idx\"" -c "ALTER TABLE \"Ticket\" DROP COLUMN IF EXISTS search" -c "ALTER TABLE \"Ticket\" ADD COLUMN search tsvector" -c "UPDATE \"Ticket\" SET search = $GEN" -c "CREATE INDEX \"Ticket_status_urgency_search_idx\" ON \"Ticket\" USING GIN (status, urgency, search)" -c "VACUUM ANALYZE \"Ticket\""; }
to_v0() { psql -q $DB -c "DROP INDEX IF EXISTS \"Ticket_status_urgency_search_idx\"" -c "ALTER TABLE \"Ticket\" DROP COLUMN IF EXISTS search" -c "VACUUM ANALYZE \"Ticket\""; }
v=$1; T=${2:-20}
to_$v >/dev/null
psql -q $DB -c "CHECKPOINT" >/dev/null
if [ "$v" = v2 ]; then
  first=$(psql -At $DB -c "SELECT last_value + 1 FROM \"Ticket_id_seq\"")
  out=$(pgbench -n -f $HERE/create.sql -c 8 -j 2 -T $T $DB 2>&1)
  n=$(echo "$out" | grep "number of transactions actually processed" | awk '{print $NF}' | cut -d/ -f1)
  psql -q $DB -c "DROP SEQUENCE IF EXISTS search_job_seq" -c "CREATE SEQUENCE search_job_seq START $first" >/dev/null
  jt=$(pgbench -n -f $HERE/job.sql -c 8 -j 2 -t $((n / 8)) $DB 2>&1)
  echo "v2 create: $(echo "$out" | grep -E 'tps|latency average' | tr '\n' ' ')"
  echo "v2 job:    $(echo "$jt" | grep -E 'tps|latency average|processed' | tr '\n' ' ')"
  echo "v2 left without vector: $(psql -At $DB -c "SELECT count(*) FROM \"Ticket\" WHERE search IS NULL")"
else
  out=$(pgbench -n -f $HERE/create.sql -c 8 -j 2 -T $T $DB 2>&1)
  echo "$v create: $(echo "$out" | grep -E 'tps|latency average' | tr '\n' ' ')"
fi
