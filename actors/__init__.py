"""Ray actor servers: generators (HF or vLLM), reference, reward, reviser and the replay buffer."""
