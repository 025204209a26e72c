"""One thread per math library (OpenBLAS, OpenMP, MKL, TensorFlow's op pools).

What: sets OPENBLAS_NUM_THREADS, OMP_NUM_THREADS, MKL_NUM_THREADS and TensorFlow's two pool sizes
to 1 where the environment does not say otherwise. They are read when the libraries load, so the
launcher calls ``apply`` before anything imports numpy.
Why: after every small matrix product in NLU, OpenBLAS's worker threads spin waiting for more work,
on cores the action server and billing need; our NLU's matrices are a message at a time, too
small to split.
Test: tests/rasa_env/test_rasa_speed.py (test_the_rasa_server_runs_its_math_libraries_on_one_thread).
"""

from __future__ import annotations

from collections.abc import MutableMapping

SPEED = True
ONE_THREAD = {
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "TF_INTRA_OP_PARALLELISM_THREADS": "1",
    "TF_INTER_OP_PARALLELISM_THREADS": "1",
}


def apply(environ: MutableMapping[str, str]) -> None:
    for name, value in ONE_THREAD.items():
        environ.setdefault(name, value)
