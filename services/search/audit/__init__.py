"""The append-only audit trail: who searched, exported, curated, published, revoked or erased what."""
