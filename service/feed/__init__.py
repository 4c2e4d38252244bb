"""The change feed: reading the log in order, following it live, and the
envelopes integrators receive."""
