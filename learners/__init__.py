"""DeepSpeed learner workers (one per rank) and the LearnerGroup that places and drives them."""
