"""Run the model's graph in the order dask ran it the first time, without dask after that.

What: ``DaskGraphRunner.run`` sends a graph's first run (the same targets and input names) through
``dask.get`` as before, noting the order dask ran its nodes in; later runs call the same nodes in
that order with the same arguments and return the same ``{name: result}``. Dask's order depends
only on the graph's shape, which the targets and input names fix. Errors are Rasa's (a node's
exception unchanged, a RuntimeError as GraphRunError).
Why: every turn runs the graph three times (NLU, then the policy for each predicted action), and
``dask.get`` orders the graph again each time and passes each node's result through a thread-pool
future and a queue, for graphs of one to twenty nodes.
Test: tests/rasa_env/test_rasa_speed.py, test_graph_runs_run_the_nodes_dask_runs_in_its_order and
test_graph_runs_of_our_model_give_rasas_answers.
"""

from __future__ import annotations

from typing import Any

SPEED = True


def apply() -> None:
    import logging

    import dask
    from rasa.engine.exceptions import GraphRunError
    from rasa.engine.runner.dask import DaskGraphRunner

    original = DaskGraphRunner.run
    if getattr(original, "_replayed", False):
        return
    log = logging.getLogger("rasa.engine.runner.dask")  # Rasa's module logger: the same debug line

    def first_run(graph: dict[str, Any], targets: list[str]) -> tuple[Any, list]:
        """dask.get as Rasa calls it, noting each node as dask starts it; (result, steps to replay)."""
        ran: list[str] = []

        def pretask(key: str, _dsk: Any, _state: Any) -> None:
            ran.append(key)

        result = dask.get(graph, targets, callbacks=[(None, None, pretask, None, None)])
        steps = []
        for key in ran:  # only tasks run; an input is data, which dask hands on as it is: (name, value)
            node, *needs = graph[key]
            steps.append((key, node, tuple((arg, arg in graph) for arg in needs)))
        return result, steps

    def run(
        self: DaskGraphRunner, inputs: dict[str, Any] | None = None, targets: list[str] | None = None
    ) -> dict[str, Any]:
        run_targets = targets if targets else self._graph_schema.target_names
        plans = self.__dict__.setdefault("_replay_plans", {})
        plan_key = (tuple(run_targets), tuple(inputs) if inputs else ())
        plan = plans.get(plan_key)
        if plan is None:
            graph = self._build_dask_graph(self._graph_schema.minimal_graph_schema(run_targets))
        else:
            graph = dict(plan[0])
        if inputs:
            self._add_inputs_to_graph(inputs, graph)  # Rasa's check: an input value naming a node
        if log.isEnabledFor(logging.DEBUG):  # Rasa formats this line on every run, logged or not
            log.debug(f"Running graph with inputs: {inputs}, targets: {targets} and {self._execution_context}.")
        try:
            if plan is None:
                result, steps = first_run(graph, run_targets)
                template = {k: v for k, v in graph.items() if not inputs or k not in inputs}
                plans[plan_key] = (template, steps)
                return dict(result)
            results = {name: graph[name] for name in inputs} if inputs else {}
            for key, node, args in plan[1]:
                results[key] = node(*[results[arg] if known else arg for arg, known in args])
            return dict(results[target] for target in run_targets)
        except RuntimeError as e:
            raise GraphRunError("Error running runner.") from e

    run._replayed = True  # type: ignore[attr-defined]
    run.__wrapped_original__ = original  # type: ignore[attr-defined]
    DaskGraphRunner.run = run
