"""One hook per external system: auth, paging, rate limits, retries, wire format <-> plain records."""
