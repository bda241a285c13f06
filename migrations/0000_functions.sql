-- Generated columns need an immutable expression; array_to_string is only stable,
-- so wrap it for the text[] of AI keywords (text output never depends on settings).
CREATE OR REPLACE FUNCTION ai_keywords_text(keywords text[]) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN array_to_string(keywords, ' ');
