"""The audio language model Aural samples from and trains: audio in, prompts, loading, generation."""
