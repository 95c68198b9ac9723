"""The state database: runs, cursors, the mirror, change sets, write log, locks, scores.
`StateDB` (db.py) is the one handle; the other modules are its parts and its migrations."""
