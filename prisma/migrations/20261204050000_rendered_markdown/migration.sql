-- Article texts rendered from Markdown to sanitised HTML, kept by content: the key is a SHA-256 of
-- the renderer's identity (marked and sanitize-html versions, the allow-list) and the text, so a
-- row never goes stale and every instance behind a load balancer shares it. Rendering runs in a
-- worker thread with a time limit; a text that cannot be rendered (too slow, too deeply nested)
-- is kept too, without HTML and with the reason, so that it is not tried again on every view.
-- A cache: rows may be deleted at any time (they are rendered again when next viewed).

-- CreateTable
CREATE TABLE "RenderedMarkdown" (
    "key" VARCHAR(64) NOT NULL,
    "html" TEXT,
    "failure" VARCHAR(200),
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "RenderedMarkdown_pkey" PRIMARY KEY ("key")
);
