-- Feed tokens become random (256 bits from the OS), no longer derived from a key in this
-- database. Lookups still go by SHA-256 hash; `sealed_token` is the token encrypted with
-- AES-GCM under a key kept outside the database (ALMANAC_FEED_TOKEN_KEY), so that
-- GET /api/v1/feed can show the URL again while a database dump alone reveals no feed.
-- Rows issued before this migration have no sealed copy and keep their derived token.
ALTER TABLE feed_tokens ADD COLUMN sealed_token bytea;
