"""The domain: plain values in, dicts or generators of batches out; no HTTP here."""
