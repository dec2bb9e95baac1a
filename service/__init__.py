"""zombiewatch: continuous supervision of government new-media accounts (政务新媒体)."""
