"""Activity of accounts: their posts and the public messages (interactions) they receive."""
