"""/stats: what the bot did, from SQL aggregates (service), as text (render) and a chart."""
