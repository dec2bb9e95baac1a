"""Push sources: other systems send activity to POST /v1/accounts/{id}/activity, so there is
nothing to poll. `fetch` is None so the poller's kind table says so explicitly."""

fetch = None
