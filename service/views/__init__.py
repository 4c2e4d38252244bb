"""Read models kept in the store's own database, fed from the log.

database: the tables and either dialect; codec: a whole state as a row;
projector: applies the log to the tables with its tracking position;
sources: every state of every source, in memory; reads: what readers ask.
"""
