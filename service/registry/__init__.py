"""The registry (登记备案): units (主办单位) and their new-media accounts."""
