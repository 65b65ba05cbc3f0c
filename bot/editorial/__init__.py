"""The editors' face: the question log (SQLite), its migrations, and the report (Markdown + PNG). No Discord here."""
