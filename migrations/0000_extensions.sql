-- Trigram similarity for typo-tolerant search (catalog, provider directory, orders).
CREATE EXTENSION IF NOT EXISTS pg_trgm;
