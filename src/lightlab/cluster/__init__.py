"""Where and how the processes of a run are launched: ranks, the launcher's environment (GPUs,
node count), stop signals and SLURM's requeue.

May import ``run`` and ``callbacks`` (a stop writes ``last.ckpt``; a requeued job resumes its run
folder); never ``inference``, ``deploy`` or ``sweeps``.
"""
