"""What the rest stands on: signing in, signed tokens, uploads and their store, the audit
trail, maintenance and retention."""
