"""Documents and images from users: preparation and extraction, off the event loop."""
