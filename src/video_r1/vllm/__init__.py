"""What reaches vLLM: requests built from the project's decoded media (:mod:`.requests`, pure functions) and
the colocated-engine plumbing of the T-GRPO trainer (:mod:`.colocate`).

vLLM itself is GPU-only and never imported here; ``tests/vllm`` pushes these requests through vLLM 0.31's
real input processing on CPU (in ``.venv-vllm``) and compares the result with the HF path.
"""
