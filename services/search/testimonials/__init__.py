"""Testimonial curation and publishing: candidates, decisions, HIPAA authorisations, the public feed."""
