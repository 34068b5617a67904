# Latent Studio — the two commands a newcomer needs:
#   make demo   set up .venv (first time only) and render renders/demo.mp4 with the shipped default model
#   make test   set up .venv (first time only) and run the test suite
#   make cuda-check   compile the CUDA ops (no GPU needed; ~5 GB throw-away venv outside the repo) and fail on
#                     any error or warning: scripts/cuda_check.sh
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test setup bench cuda-check clean-venv

$(STAMP): pyproject.toml scripts/setup_env.sh
	sh scripts/setup_env.sh

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/studio render presets/timelines/demo.yaml

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python benchmarks/render.py

cuda-check:
	sh scripts/cuda_check.sh

clean-venv:
	rm -rf $(VENV)
