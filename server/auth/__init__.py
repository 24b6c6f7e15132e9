"""Sign-in, bearer tokens per device, and the Actor with its scope."""
