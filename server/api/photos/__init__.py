"""Photo endpoints: content-addressed, resumable, deduplicated uploads and downloads."""
