"""``python -m lightlab group <experiment> --seeds N|"3 7 11" [--folds K] [--jobs K]``
(``make train EXP=… SEEDS=… FOLDS=… JOBS=…``): one configuration trained once per seed (and fold).

The members are ordinary run folders in a group folder, ``runs/<exp>/group-<time>/seed-<n>/``
(``fold-<k>-seed-<n>/`` with folds), trained one after another in this process (torch, Lightning
and the data files are loaded once) or by ``--jobs`` worker processes. ``group.json`` is written
first and completed at the end with the mean, spread and 95 % interval of every val and test
metric, which are printed. ``--resume <group folder>`` (``RESUME=``) continues a group that was
stopped: completed members are kept, an interrupted one continues from its checkpoint, missing
ones are trained.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from lightlab.argv_checks import flag_value, take_flag
from lightlab.cluster.ranks import requeued_job
from lightlab.errors import CommandParser, UserError, command
from lightlab.ranges import FoldCount, PositiveInt, flag_type
from lightlab.repeats.plan import (
    check_folds,
    check_resplittable,
    experiment_file,
    first_seed,
    group_config,
    member_flags,
    plan,
    read_seeds,
)
from lightlab.repeats.summary import print_group
from lightlab.run.folder import RunFolder, Status, reserve_folder, shown
from lightlab.run.groups import GroupFolder, Member, is_group, member_states, summarise
from lightlab.run.in_process import WANDB_GROUP_ENV, fit_here
from lightlab.run.resolved import checkpoint_monitor, resolved_config
from lightlab.run.summary import status_of

USER_MISTAKE = 2  # the exit status of a run refused for its input (errors.exit_with)
# Inherited by the processes a DDP member starts (Lightning reruns this command line for them):
# the member's own command line, which they train instead of starting a group.
MEMBER_ENV = "LIGHTLAB_GROUP_MEMBER"


def start_group(
    experiment: str,
    seeds_text: str,
    folds: int | None,
    extra: list[str],
    parent: Path,
    stem: str | None = None,
    after_config_seed: bool = False,
) -> GroupFolder:
    """Check the plan, then make the group folder ``parent/<stem>`` (default ``group-<time>``) and
    its ``group.json``: nothing is made for a mistake in the seeds, the folds or the flags. With
    ``after_config_seed``, a count of seeds starts after the config's own seed (a run already
    trained with it, such as a sweep's trial, is not repeated)."""
    check_folds(folds)
    read_seeds(seeds_text, 0)  # a mistake in them is found before the config is resolved
    source = experiment_file(experiment)
    config = resolved_config(source, extra)  # a bad flag is the parser's one line
    seeds = read_seeds(seeds_text, first_seed(config) + after_config_seed)
    if folds:
        check_resplittable(config)
    members = plan(seeds, folds)
    monitor, mode = checkpoint_monitor(config)
    group = GroupFolder(reserve_folder(parent, stem or time.strftime("group-%Y%m%d-%H%M%S")))
    group.write(
        {
            "experiment": experiment,
            "experiment_file": str(source),
            "seeds": seeds,
            "folds": folds,
            "args": extra,
            "members": [{"name": m.name, "seed": m.seed, "fold": m.fold} for m in members],
            "monitor": monitor,
            "mode": mode,
            "config": group_config(config, seeds, folds),
            "status": Status.RUNNING.value,
            "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
        }
    )
    print(f"group {shown(group.path)}: {len(members)} runs of {experiment} ({describe_plan(seeds, folds)})")
    return group


def describe_plan(seeds: list[int], folds: int | None) -> str:
    consecutive = seeds == list(range(seeds[0], seeds[0] + len(seeds)))
    named = f"{seeds[0]}-{seeds[-1]}" if consecutive and len(seeds) > 1 else " ".join(map(str, seeds))
    text = f"seed{'s' if len(seeds) > 1 else ''} {named}"
    return f"{folds} folds x {text}" if folds else text


# Flags a continued group may take: where runs go and what the console shows, not what they train.
DISPLAY_FLAGS = ("--runs_dir", "--trainer.enable_progress_bar", "--trainer.enable_model_summary")


def check_resume_flags(extra: list[str]) -> None:
    """A continued group trains every missing run with the flags in its ``group.json``, so its
    runs stay one configuration: other flags are refused."""
    changed = [a for a in extra if a.startswith("-") and a.split("=", 1)[0] not in DISPLAY_FLAGS]
    if changed:
        raise UserError(
            f"RESUME continues a group as it was planned, with the flags in its group.json; drop "
            f"{' '.join(changed)} (ARGS, TRAINER, DEBUG, PRECISION), or start a new group with them"
        )


def open_group(target: str, experiment: str | None) -> GroupFolder:
    """The group ``RESUME=`` names, checked against ``EXP`` when given."""
    group = GroupFolder(Path(target))
    if not group.is_group():
        if RunFolder(Path(target)).is_run():
            raise UserError(
                f"{target} is a run, not a group folder; continue it with make train RESUME={target}"
            )
        raise UserError(
            f"{target} is not a group folder (no group.json); give runs/<experiment>/group-<time>"
        )
    recorded = group.read().get("experiment")
    if experiment and recorded != experiment:
        raise UserError(f"{target} is a group of {recorded}, not {experiment}; drop EXP or fix it")
    return group


def say_what_continues(group: GroupFolder) -> None:
    states = member_states(group)
    done = [name for name, state in states.items() if state == Status.COMPLETED.value]
    if len(done) == len(states):
        print(f"{shown(group.path)}: all {len(states)} runs completed already; nothing to continue")
        return
    left = ", ".join(f"{name} ({state})" for name, state in states.items() if name not in done)
    print(
        f"continuing the group {shown(group.path)}: {len(done)} of {len(states)} runs completed; next: {left}"
    )


def set_aside(folder: Path) -> Path:
    """A member stopped before its first checkpoint: kept beside the group as ``<name>-stopped-<k>``,
    so it is not mistaken for a member and nothing of it is lost."""
    for k in range(1, 1000):
        aside = folder.with_name(f"{folder.name}-stopped-{k}")
        if not aside.exists():
            folder.rename(aside)
            return aside
    raise UserError(f"too many stopped copies beside {folder}; clean them up")


def run_member(group: GroupFolder, member: Member, extra: list[str]) -> int:
    """Train (or continue) one member; its exit status (0 when it completed)."""
    record = group.read()
    folder = group.member(member)
    if RunFolder(folder).is_run():
        if status_of(folder) == Status.COMPLETED:
            return 0
        from lightlab.run.resume import resume_candidates  # imports Lightning: only to train

        if resume_candidates(folder):
            return fit_member(group, record, ["fit", "--resume", str(folder), *extra], folder)
        print(f"{shown(folder)} stopped before its first checkpoint; kept as {shown(set_aside(folder))}")
    args = ["fit", "--config", record["experiment_file"], "--experiment", record["experiment"]]
    args += [*record.get("args", []), *extra, *member_flags(member, record.get("folds"))]
    return fit_member(group, record, args, folder)


def fit_member(group: GroupFolder, record: dict[str, Any], args: list[str], folder: Path) -> int:
    """``fit ARGS`` into ``folder``, a wandb run in the group's wandb group; its exit status."""
    environment = {
        WANDB_GROUP_ENV: f"{record['experiment']}/{group.path.name}",
        MEMBER_ENV: json.dumps(args),
    }
    return fit_here(args, folder, environment=environment)


def run_members(group: GroupFolder, members: list[Member], extra: list[str]) -> dict[str, int]:
    """Each member in turn; stops at a signal (the group can be continued) and at a user mistake
    before any member completed (every member would meet it)."""
    statuses: dict[str, int] = {}
    for member in members:
        try:
            status = statuses[member.name] = run_member(group, member, extra)
        except KeyboardInterrupt:  # before the member's Trainer took over Ctrl-C
            statuses[member.name] = 128 + signal.SIGINT
            break
        if status >= 128 or status_of(group.member(member)) == Status.INTERRUPTED:
            break  # stopped from outside (a signal, Ctrl-C): the rest waits for RESUME
        if status == USER_MISTAKE and not any(s == 0 for s in statuses.values()):
            break
    return statuses


def spawn_workers(group: GroupFolder, members: list[Member], jobs: int, extra: list[str]) -> dict[str, int]:
    """``jobs`` processes, each training every ``jobs``-th member, the CPU's threads divided. Each
    member's status: 0 when it completed, else its worker's exit status."""
    threads = max(1, (os.cpu_count() or 1) // jobs)
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "LIGHTLAB_GROUP_THREADS": str(threads)}
    print(f"{jobs} workers with {threads} torch thread(s) each")
    workers = []
    for k in range(jobs):
        share = [m.name for m in members[k::jobs]]
        if share:
            command_line = [sys.executable, "-m", "lightlab", "group", "--resume", str(group.path)]
            command_line += ["--worker", "--members", ",".join(share), f"--args={shlex.join(extra)}"]
            workers.append((share, subprocess.Popen(command_line, env=env)))
    codes = {name: worker.wait() for share, worker in workers for name in share}
    return {
        m.name: 0 if status_of(group.member(m)) == Status.COMPLETED else codes[m.name] or 1 for m in members
    }


def discard_group(group: GroupFolder) -> None:
    """Remove a group none of whose members got as far as a run folder."""
    if not any(RunFolder(group.member(m)).is_run() for m in group.members()):
        shutil.rmtree(group.path, ignore_errors=True)


def finish(group: GroupFolder, statuses: dict[str, int]) -> None:
    """Write the statistics, print the table, and exit as the members did."""
    refused = not statuses or all(s == USER_MISTAKE for s in statuses.values())
    if refused and not any(status_of(p) == Status.COMPLETED for p in group.member_folders()):
        discard_group(group)
        sys.exit(USER_MISTAKE)  # the member's own error line was printed
    record = summarise(group, final=True)
    print_group(record, group.path)
    stopped = [s for s in statuses.values() if s >= 128]
    unfinished = [name for name, state in record["member_status"].items() if state != Status.COMPLETED.value]
    if unfinished:
        print(
            f"{len(unfinished)} of {len(record['members'])} runs did not complete ({', '.join(unfinished)}); "
            f"continue the group with make train RESUME={shown(group.path)}",
            file=sys.stderr,
        )
        sys.exit(stopped[0] if stopped else 1)


@command
def main(argv: list[str] | None = None) -> None:
    if os.environ.get(MEMBER_ENV) and os.environ.get("LOCAL_RANK", "0") != "0":
        from lightlab.cli import main as train  # another rank of a member's DDP run

        train(json.loads(os.environ[MEMBER_ENV]))
        return
    parser = CommandParser(description=__doc__.splitlines()[0])
    parser.add_argument("experiment", nargs="?", default=None)
    parser.add_argument(
        "--seeds", default=None, help='a count (5) or a list ("3 7 11"); default 1 with --folds'
    )
    parser.add_argument("--folds", type=flag_type(FoldCount), default=None, help="k-fold cross-validation")
    parser.add_argument("--jobs", type=flag_type(PositiveInt), default=1, help="worker processes")
    parser.add_argument("--resume", default=None, help="a group folder to continue")
    parser.add_argument(
        "--runs_dir", type=Path, default=None, help="default: the --runs_dir in --args, else runs"
    )
    parser.add_argument("--args", default="", help="flags for every run, e.g. '--trainer.max_epochs 5'")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--members", default=None, help=argparse.SUPPRESS)
    argv = sys.argv[1:] if argv is None else list(argv)
    after = argv.index("--") if "--" in argv else len(argv)  # the runs' flags, as make train passes them
    args = parser.parse_args(argv[:after])
    extra = [*shlex.split(args.args), *argv[after + 1 :]]
    if args.resume is None:
        if args.experiment is None:
            raise UserError("no experiment given: make train EXP=<name> SEEDS=5")
        if args.seeds is None and args.folds is None:
            raise UserError("a group needs SEEDS=<count or list> or FOLDS=<k>")
        runs_dir = args.runs_dir or Path(flag_value(extra, "--runs_dir") or "runs")
        job = os.environ.get("SLURM_JOB_ID")  # a batch job's group is named by it, so a requeue finds it
        stem = f"group-job-{job}" if job else None
        if job and requeued_job() == job and is_group(runs_dir / args.experiment / stem):
            group = open_group(str(runs_dir / args.experiment / stem), args.experiment)
            print(f"requeued job {job}: continuing the group {shown(group.path)}")
        else:
            group = start_group(
                args.experiment, args.seeds or "1", args.folds, extra, runs_dir / args.experiment, stem
            )
        extra = []  # recorded in group.json: every member gets them
    else:
        if args.seeds is not None or args.folds is not None:
            raise UserError("RESUME continues a group as it was planned: drop SEEDS and FOLDS")
        group = open_group(args.resume, args.experiment)
        if not args.worker:
            check_resume_flags(extra)
            say_what_continues(group)
    members = group.members()
    if args.members is not None:
        wanted = set(args.members.split(","))
        members = [m for m in members if m.name in wanted]
    if args.worker:
        import torch  # a worker of several: its share of the CPU's threads

        torch.set_num_threads(int(os.environ.get("LIGHTLAB_GROUP_THREADS", torch.get_num_threads())))
        statuses = run_members(group, members, extra)
        sys.exit(max(statuses.values(), default=0))
    if args.jobs > 1:
        statuses = spawn_workers(group, members, args.jobs, extra)
    else:
        statuses = run_members(group, members, extra)
    finish(group, statuses)


def continue_from_fit(group: Path, given: list[str]) -> None:
    """``fit --resume <group folder>`` (``make train RESUME=``): the group continues, each of its
    runs with the other flags given."""
    if given[:1] != ["fit"]:
        raise UserError("--resume continues training: use it with fit (make train ... RESUME=...)")
    rest, experiment = take_flag(given[1:], "--experiment")
    main([*([experiment] if experiment else []), "--resume", str(group), f"--args={shlex.join(rest)}"])


if __name__ == "__main__":
    main()
