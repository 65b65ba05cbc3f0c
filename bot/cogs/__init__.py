"""One cog per concern: ask (questions), summary (reading the stories), admin (/reindex)."""
