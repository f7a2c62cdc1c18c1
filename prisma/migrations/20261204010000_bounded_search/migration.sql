-- Full-text indexing whose cost is linear in the text, whatever its characters (issue 9, finding 1).
--
-- PostgreSQL's default text-search parser backtracks: from every position of a run of characters
-- that could become an email, host, URL, file path, hyphenated word or number it may read to the
-- end of the run, fail, and start again at the next position. A 20,000-character run such as
-- '_a' x 10,000, 'a_1' x 6,667 or 'a-b.' x 5,000 then costs seconds of CPU (quadratic), in every
-- INSERT and every UPDATE of the row (generated columns are computed again). The one kind of token
-- that runs across white space is markup: an XML tag, with its quoted attribute values, or a
-- comment ('<!--' x 5,000 is quadratic with or without spaces between them).
-- (scripts/fuzz-text-search.ts finds them: npm run fuzz:search -- --raw.)
--
-- caseboard_search_text() is what the parser sees instead of the stored text:
--   1. at most the first 100,000 characters (the longest field, an article body, fits);
--   2. '<' before a character that can open a tag or comment ('<b', '</', '<!', '<?', '<:', '<_')
--      is followed by a space, so that no tag or comment begins: the parser reads such markup as
--      words, like any other text;
--   3. a space before the second and every further '@' of a run without white space ('a@b@c' is
--      'a@b @c'): an email has one, and from each '@' the parser looks for a host that may itself
--      hold an email, and so on ('a@0' x N costs 5 times '_a' x N);
--   4. a space after every 100 characters of a run without white space: no token is longer, so a
--      backtracking parse reads at most 100 characters from each position.
-- Each is one pass of a regular expression over the text, and the parse then costs at most a
-- constant per character. Ordinary words, emails, hosts, URLs and paths up to 100 characters,
-- hyphenated words and version numbers are parsed as before. The search queries go through the
-- same function (src/services), so a long token is split the same way in the query.
CREATE FUNCTION "caseboard_search_text"(text) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
  SELECT regexp_replace(
           regexp_replace(
             regexp_replace(left($1, 100000), '<([!/?:_A-Za-z])', '< \1', 'g'),
             '(@[^ \t\n\r\f\v@]*)(?=@)', '\1 ', 'g'),
           '([^ \t\n\r\f\v]{100})', '\1 ', 'g')
$$;

-- The knowledge base's snippets (ts_headline) parse the article's body through the same function,
-- and get the query through this one: ts_headline's search for the best fragments takes time and
-- memory exponential in the length of a phrase in the query ('"printer printer … printer"', 20
-- words, over an article with that word in it took all of 23 GB and PostgreSQL was killed; every
-- word of 'a_1a_1…' or 'a-b.a-b.…' is a phrase operand too) and grows with the number of
-- operands. The snippet needs only the words to mark: at most 12 different lexemes of the query,
-- any of which marks (the match and the ranking still use the query itself).
CREATE FUNCTION "caseboard_headline_query"(tsquery) RETURNS tsquery
  LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
  SELECT coalesce(string_agg(l, ' | ' ORDER BY n), '')::tsquery FROM (
    SELECT m.l[1] AS l, min(m.n) AS n
    FROM regexp_matches($1::text, '(''(?:[^'']|'''')*'')', 'g') WITH ORDINALITY AS m(l, n)
    GROUP BY m.l[1] ORDER BY min(m.n) LIMIT 12) s
$$;

-- The generated columns, computed through it. A generated column's expression cannot be altered in
-- PostgreSQL 15: each is dropped (with its index) and added again, which computes it for every row.

-- AlterTable
ALTER TABLE "Ticket" DROP COLUMN "search";
ALTER TABLE "Ticket" ADD COLUMN "search" tsvector GENERATED ALWAYS AS (
  setweight(to_tsvector('caseboard'::regconfig, "caseboard_search_text"("title")), 'A') ||
  setweight(to_tsvector('caseboard'::regconfig, "caseboard_search_text"("description")), 'B')
) STORED;

-- AlterTable
ALTER TABLE "WorkLogEntry" DROP COLUMN "search";
ALTER TABLE "WorkLogEntry" ADD COLUMN "search" tsvector GENERATED ALWAYS AS (
  to_tsvector('caseboard'::regconfig, "caseboard_search_text"("body"))
) STORED;

-- AlterTable
ALTER TABLE "Article" DROP COLUMN "search";
ALTER TABLE "Article" ADD COLUMN "search" tsvector GENERATED ALWAYS AS (
  setweight(to_tsvector('caseboard'::regconfig, "caseboard_search_text"("title")), 'A') ||
  setweight(to_tsvector('caseboard'::regconfig, "caseboard_search_text"("caseboard_words"("tags"))), 'B') ||
  setweight(to_tsvector('caseboard'::regconfig, "caseboard_search_text"("body")), 'C')
) STORED;

-- CreateIndex
CREATE INDEX "Ticket_search_idx" ON "Ticket" USING GIN ("search");

-- CreateIndex
CREATE INDEX "WorkLogEntry_search_idx" ON "WorkLogEntry" USING GIN ("search");

-- CreateIndex
CREATE INDEX "Article_search_idx" ON "Article" USING GIN ("search");
