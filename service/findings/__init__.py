"""Findings: one per problem and subject, with evidence, a lifecycle and a history."""
