"""Flows: the four ops and the job factory (:mod:`.pipeline`), and their triggers (:mod:`.triggers`)."""
