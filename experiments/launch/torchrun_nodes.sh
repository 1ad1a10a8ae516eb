#!/bin/bash
# Multi-node training with torchrun, without a scheduler. Run this on every machine:
#
#   NODES=2 NODE_RANK=0 MASTER=10.0.0.1 RUN_ID=exp42 bash experiments/launch/torchrun_nodes.sh iris_mlp
#   NODES=2 NODE_RANK=1 MASTER=10.0.0.1 RUN_ID=exp42 bash experiments/launch/torchrun_nodes.sh iris_mlp
#
# NODES      number of machines (torchrun --nnodes; Lightning's num_nodes is read back from it)
# NODE_RANK  this machine's index, 0 on the machine at MASTER
# MASTER     address of machine 0, reachable from all others; PORT (default 29500) must be open there
# GPUS       processes on this machine (default: all visible GPUs, else 1)
# RUN_ID     shared by all machines of one run; names the run directory runs/<experiment>/job-<RUN_ID>
#            and must be new for each run
# torchrun sets RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, MASTER_ADDR and MASTER_PORT for
# every process; Lightning's torchelastic environment reads them.
set -euo pipefail
EXP=${1:?usage: bash experiments/launch/torchrun_nodes.sh <experiment> [extra flags]}
shift
: "${NODES:?set NODES}" "${NODE_RANK:?set NODE_RANK}" "${MASTER:?set MASTER}" "${RUN_ID:?set RUN_ID}"
GPUS=${GPUS:-$(.venv/bin/python -c "import torch; print(max(torch.cuda.device_count(), 1))")}
exec .venv/bin/python -m torch.distributed.run \
  --nnodes "$NODES" --nproc-per-node "$GPUS" --node-rank "$NODE_RANK" \
  --master-addr "$MASTER" --master-port "${PORT:-29500}" --rdzv-id "$RUN_ID" \
  -m lightlab fit --config "experiments/$EXP.yaml" --config experiments/trainer/multinode.yaml \
  --trainer.devices "$GPUS" "$@"
