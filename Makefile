# Every target uses the project's virtual environment, so nothing needs activating.
# Commands started here name this Makefile's variables in their errors (CKPT=last, not --ckpt last).
export LIGHTLAB_VIA_MAKE := 1
VENV      ?= .venv
PY        := $(VENV)/bin/python
EXP       ?=
ARGS      ?=
TRAINER   ?=
PRECISION ?=
LOCK      ?= constraints.txt
PIP_ARGS  ?=
UPGRADE_VENV ?= .venv-upgrade
TESTS     ?=
TEST_WORKERS ?= auto
EXPERIMENTS := $(sort $(basename $(notdir $(wildcard experiments/*.yaml))))
PRESETS     := $(sort $(basename $(notdir $(wildcard experiments/trainer/*.yaml))))
DEBUGS      := $(sort $(basename $(notdir $(wildcard experiments/debug/*.yaml))))
DEBUG     ?=
RESUME    ?=
INIT      ?=
SEEDS     ?=
CONFIRM   ?=
FOLDS     ?=
SPACE     ?=
TRIALS    ?=
JOBS      ?=
STORAGE   ?=
SPACES      := $(sort $(basename $(notdir $(wildcard experiments/sweeps/*.yaml))))
# A smoke run is a real run (summary, progress bar, checkpoints, plots) over a few batches.
SMOKE_ARGS  := --trainer.max_epochs 1 --trainer.limit_train_batches 3 --trainer.limit_val_batches 2 \
               --trainer.limit_test_batches 2
FIT_SOURCE   = $(if $(RESUME),--resume $(RESUME) $(if $(EXP),--experiment $(EXP)),--config experiments/$(EXP).yaml)
LOGGER    ?=
LOGGERS     := $(sort $(basename $(notdir $(wildcard experiments/logger/*.yaml))))
comma := ,
space := $(subst ,, )
TRAIN_FLAGS := $(if $(INIT),--model.init_from $(INIT)) $(if $(TRAINER),--config experiments/trainer/$(TRAINER).yaml) \
               $(foreach l,$(subst $(comma), ,$(LOGGER)),--trainer.logger+=experiments/logger/$(l).yaml) \
               $(if $(DEBUG),--config experiments/debug/$(DEBUG).yaml) $(if $(PRECISION),--trainer.precision $(PRECISION))

.DEFAULT_GOAL := help
.PHONY: help install upgrade train sweep sweep-results eval predict export predict-onnx serve compare results show-data smoke test test-all lint format bench bench-fashion clean check-exp new-project

help: ## List the targets and the experiments
	@echo "Targets:"
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'
	@echo "Experiments (make train EXP=<name>):"
	@for e in $(EXPERIMENTS); do printf "  %-22s %s\n" "$$e" "$$(head -n1 experiments/$$e.yaml | sed 's/^# *//')"; done
	@echo "Trainer presets (make train EXP=<name> TRAINER=<preset>):"
	@for p in $(PRESETS); do printf "  %-22s %s\n" "$$p" "$$(head -n1 experiments/trainer/$$p.yaml | sed 's/^# *//')"; done
	@echo "Search spaces (make sweep EXP=<name> SPACE=<space>; default: the experiment's name):"
	@for p in $(SPACES); do printf "  %-22s %s\n" "$$p" "$$(head -n1 experiments/sweeps/$$p.yaml | sed 's/^# *//')"; done
	@echo "Logger presets besides CSV and wandb (make train EXP=<name> LOGGER=<preset>[,<preset>]):"
	@for p in $(LOGGERS); do printf "  %-22s %s\n" "$$p" "$$(head -n1 experiments/logger/$$p.yaml | sed 's/^# *//')"; done
	@echo "Debug presets (make train EXP=<name> DEBUG=<preset>):"
	@for p in $(DEBUGS); do printf "  %-22s %s\n" "$$p" "$$(head -n1 experiments/debug/$$p.yaml | sed 's/^# *//')"; done

EXTRAS    ?= dev,deploy,sweeps,tensorboard,mlflow

install: ## Create .venv and install the package with its extras (EXTRAS=dev,deploy,sweeps,tensorboard,mlflow), at the tested versions in constraints.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c $(LOCK) $(PIP_ARGS) -e ".[$(EXTRAS)]"

upgrade: ## Test the newest releases in a fresh venv; only if the suite passes, rewrite constraints.txt
	rm -rf $(UPGRADE_VENV)
	python3 -m venv $(UPGRADE_VENV)
	$(UPGRADE_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(UPGRADE_VENV)/bin/python -m pip install --quiet --upgrade $(PIP_ARGS) -e ".[$(EXTRAS)]"
	@$(UPGRADE_VENV)/bin/python -m pytest -q -p no:cacheprovider $(TESTS) \
	  || { echo "upgrade: tests fail with the newest releases; $(LOCK) is unchanged"; exit 1; }
	@$(UPGRADE_VENV)/bin/python .github/scripts/update_lock.py $(UPGRADE_VENV)/bin/python $(LOCK)

check-exp:
	$(if $(EXP)$(RESUME),,$(error no experiment given: use make $(firstword $(MAKECMDGOALS)) EXP=<name> with one of: $(EXPERIMENTS)))
	$(if $(EXP),$(if $(wildcard experiments/$(EXP).yaml),,$(error unknown experiment '$(EXP)': choose one of: $(EXPERIMENTS))))
	$(if $(TRAINER),$(if $(wildcard experiments/trainer/$(TRAINER).yaml),,$(error unknown trainer preset '$(TRAINER)': choose one of: $(PRESETS))))
	$(if $(DEBUG),$(if $(wildcard experiments/debug/$(DEBUG).yaml),,$(error unknown debug preset '$(DEBUG)': choose one of: $(DEBUGS))))
	$(if $(and $(INIT),$(RESUME)),$(error INIT= starts a new run from another run's weights, RESUME= continues a run: give one of them))
	$(foreach l,$(subst $(comma), ,$(LOGGER)),$(if $(wildcard experiments/logger/$(l).yaml),,$(error unknown logger preset '$(l)': choose from: $(LOGGERS) (several: LOGGER=$(subst $(space),$(comma),$(LOGGERS))))))

train: check-exp ## Train EXP=<name> [TRAINER= LOGGER= DEBUG= PRECISION= ARGS="..."]; RESUME=latest|<folder>|<ckpt>; INIT=<run folder>|<ckpt>: start from its weights; SEEDS=5|"3 7" FOLDS=k JOBS=k: a group
ifneq ($(SEEDS)$(FOLDS),)
	$(PY) -m lightlab group $(EXP) $(if $(SEEDS),--seeds "$(SEEDS)") $(if $(FOLDS),--folds $(FOLDS)) \
	  $(if $(JOBS),--jobs $(JOBS)) $(if $(RESUME),--resume $(RESUME)) -- $(TRAIN_FLAGS) $(ARGS)
else
	$(PY) -m lightlab fit $(strip $(FIT_SOURCE) $(TRAIN_FLAGS) $(ARGS))
endif

show-data: check-exp ## EXP's class counts per split (runs/EXP/class_counts.png) and, for images, a labelled grid (samples.png)
	$(PY) -m lightlab show-data experiments/$(EXP).yaml

sweep: check-exp ## Optuna search over EXP: [SPACE= TRIALS= JOBS= STORAGE=] [CONFIRM=k: retrain the k best over SEEDS (3)]; again: continue
	$(PY) -m lightlab sweep $(EXP) $(if $(SPACE),--space $(SPACE)) $(if $(TRIALS),--trials $(TRIALS)) \
	  $(if $(JOBS),--jobs $(JOBS)) $(if $(STORAGE),--storage $(STORAGE)) \
	  $(if $(CONFIRM),--confirm $(CONFIRM)) $(if $(SEEDS),--seeds "$(SEEDS)") --args='$(subst ','\'',$(TRAIN_FLAGS) $(ARGS))'

sweep-results: check-exp ## The trials table, best.yaml and plots of EXP's sweep (SPACE=…), without running trials
	$(PY) -m lightlab sweep $(EXP) $(if $(SPACE),--space $(SPACE)) $(if $(STORAGE),--storage $(STORAGE)) --report --args='$(subst ','\'',$(ARGS))'

eval: ## Score a run folder again: RUN=<folder> [SPLIT=val|test] [CKPT=best|last|<path>]; writes eval-<split>.json
	$(if $(RUN),,$(error no run folder given: use make eval RUN=runs/<experiment>/<run>))
	$(PY) -m lightlab eval $(RUN) --split $(or $(SPLIT),test) --ckpt $(or $(CKPT),best)

predict: ## Classify new inputs with a run: RUN=<folder> INPUT=<file or folder> [CKPT=best|last|<path>]; writes predictions.csv
	$(if $(RUN),,$(error no run folder given: use make predict RUN=runs/<experiment>/<run> INPUT=<path>))
	$(if $(INPUT),,$(error no input given: use make predict RUN=$(RUN) INPUT=<file or folder>))
	$(PY) -m lightlab predict $(RUN) --input $(INPUT) --ckpt $(or $(CKPT),best)

export: ## Export a run to ONNX with a parity check: RUN=<folder> [CKPT=best|last|<path>]; writes <run>/export/
	$(if $(RUN),,$(error no run folder given: use make export RUN=runs/<experiment>/<run>))
	$(PY) -m lightlab export $(RUN) --ckpt $(or $(CKPT),best)

predict-onnx: ## Classify new inputs with an export, without torch: EXPORT=<run>/export INPUT=<file or folder>
	$(if $(EXPORT),,$(error no export folder given: use make predict-onnx EXPORT=runs/<experiment>/<run>/export INPUT=<path>))
	$(if $(INPUT),,$(error no input given: use make predict-onnx EXPORT=$(EXPORT) INPUT=<file or folder>))
	$(PY) -m lightlab predict-onnx $(EXPORT) --input $(INPUT)

serve: ## HTTP endpoint for a run (LitServe): RUN=<folder> [PORT=8000] [WORKERS=1] [MAX_BATCH=32] [BATCH_TIMEOUT=5 (ms)] [MAX_BODY_MB=50] [BACKEND=torch|onnx]
	$(if $(RUN),,$(error no run folder given: use make serve RUN=runs/<experiment>/<run>))
	$(PY) -m lightlab serve $(RUN) --port $(or $(PORT),8000) --workers $(or $(WORKERS),1) \
	  --max-batch $(or $(MAX_BATCH),32) --backend $(or $(BACKEND),torch) $(if $(CKPT),--ckpt $(CKPT)) \
	  $(if $(BATCH_TIMEOUT),--batch-timeout $(BATCH_TIMEOUT)) $(if $(HOST),--host $(HOST)) \
	  $(if $(MAX_BODY_MB),--max-body-mb $(MAX_BODY_MB))

compare: ## Is B better than A, beyond seed noise? A=<run or group folder> B=<run or group folder> (same experiment)
	$(if $(and $(A),$(B)),,$(error give two runs or groups: make compare A=runs/<experiment>/<group> B=runs/<experiment>/<group>))
	$(PY) -m lightlab compare $(A) $(B)

results: ## Compare runs (all, or EXP's): what fits the terminal (WIDE=1: every setting), a group as mean ± std (EXPAND=1: its runs), SORT=<column> (samples/s, peak MB…); writes results.csv/.md
	$(PY) -m lightlab results $(if $(EXP),--experiment $(EXP)) $(if $(EXPAND),--expand) $(if $(WIDE),--wide) $(if $(SORT),--sort '$(SORT)') $(ARGS)

smoke: ## Train every experiment for one short epoch exactly as make train does; downloads data where needed
	@set -e; for e in $(EXPERIMENTS); do echo "== $$e"; \
	  $(MAKE) --no-print-directory train EXP=$$e ARGS="$(SMOKE_ARGS) $(ARGS)"; done

test: ## The fast tier: every experiment's smoke run, every command's bad input (about 5 to 6 min on 2 cores)
	$(PY) -m pytest -q -m "not slow" -n $(TEST_WORKERS)

test-all: ## Everything: the fast tier, then the slow tier (services, fresh venv, real data, long runs); what CI runs
	$(PY) -m pytest -q -m "not slow" -n $(TEST_WORKERS)
	$(PY) -m pytest -q -m slow

lint: ## ruff, and the CI workflows against GitHub's schema
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml

format: ## Apply ruff's fixes and formatting
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: ## Run the speed benchmarks (prints ratios)
	$(PY) benchmarks/bench_task_overhead.py
	$(PY) benchmarks/bench_startup.py
	$(PY) benchmarks/bench_compile.py
	$(PY) benchmarks/bench_custom_linear.py
	$(PY) benchmarks/bench_fashion_pipeline.py
	$(PY) benchmarks/bench_bilstm_padding.py
	$(PY) benchmarks/bench_results.py
	$(PY) benchmarks/bench_sweep.py
	$(PY) benchmarks/bench_seed_group.py
	$(PY) benchmarks/bench_text_baseline.py
	$(PY) benchmarks/bench_backbone_freeze.py
	$(PY) benchmarks/bench_onnx_runtime.py
	$(PY) benchmarks/bench_serve_load.py

bench-fashion: ## Train the Fashion-MNIST experiments on the real files; print test accuracy, s/epoch, memory
	$(PY) benchmarks/bench_fashion_accuracy.py $(ARGS)

clean: ## Remove run outputs and caches (keeps .venv)
	rm -rf runs wandb lightning_logs .pytest_cache .ruff_cache $(UPGRADE_VENV)
	find . -name __pycache__ -type d -prune -not -path "./$(VENV)/*" -exec rm -rf {} +

new-project: ## Make this clone your own project: NAME=<package> [KEEP="<experiment> ..."] [DROP="deploy sweeps"] (docs/new-project.md)
	@$(if $(NAME),,$(error no name given: make new-project NAME=<package> [KEEP="<experiment> ..."] [DROP="<capability> ..."]))test -x $(PY) || { echo "new-project: no $(PY): run make install first" >&2; exit 2; }; $(PY) .github/scripts/new_project.py $(NAME) $(if $(KEEP),--keep "$(KEEP)") $(if $(DROP),--drop "$(DROP)") $(if $(FORCE),--force) $(if $(KEEP_COMMAND),--keep-command) $(if $(NO_INSTALL),--no-install)
