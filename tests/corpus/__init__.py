"""A seeded corpus of realistic e-commerce exports whose true money is known (see ``exports``)."""
